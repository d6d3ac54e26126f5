-- The channels a campaign's messages take, in failover order
-- (relais_core::plan::ChannelOrder): "network", "devices" or
-- "devices_then_network". Campaigns stored before went through the network.
ALTER TABLE campaigns ADD COLUMN channels TEXT NOT NULL DEFAULT 'network';
