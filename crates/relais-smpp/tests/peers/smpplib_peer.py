"""An SMPP client on PyPI's smpplib, driving the relais SMPP server.

Binds as a transceiver, submits a GSM-7 text, a UCS-2 text with emoji and a
long GSM-7 text (cut by smpplib with a UDH), waits for every submit_sm_resp,
for one delivery receipt per message and for one reply (MO), queries the
GSM-7 message's state (query_sm), unbinds, and prints what it saw as JSON on
stdout.

usage: smpplib_peer.py HOST PORT SYSTEM_ID PASSWORD
"""

import json
import sys
import time

import smpplib.client
import smpplib.consts
import smpplib.gsm

MESSAGES = [
    ("gsm7", "Hello from smpplib: 10 {ok}"),
    ("ucs2", "Bonjour \U0001F600 ça va ?"),
    ("long", "A long message that smpplib cuts into parts. " * 8),
]
DESTINATION = "33612345678"
RECEIPT = 0x04  # esm_class of an SMSC delivery receipt (smpplib names none)


def text(value):
    return value.decode("latin-1") if isinstance(value, bytes) else value


def main():
    host, port, system_id, password = sys.argv[1:5]
    client = smpplib.client.Client(host, int(port), timeout=1, allow_unknown_opt_params=True)
    sent, responses, receipts, replies = [], [], [], []

    def on_sent(pdu):
        responses.append(
            {"sequence": pdu.sequence, "status": pdu.status, "message_id": text(pdu.message_id)}
        )

    def on_received(pdu):
        if not pdu.esm_class & RECEIPT:
            ucs2 = pdu.data_coding == smpplib.consts.SMPP_ENCODING_ISO10646
            replies.append(
                {
                    "esm_class": pdu.esm_class,
                    "data_coding": pdu.data_coding,
                    "source_addr": [pdu.source_addr_ton, pdu.source_addr_npi, text(pdu.source_addr)],
                    "destination_addr": [pdu.dest_addr_ton, pdu.dest_addr_npi, text(pdu.destination_addr)],
                    "text": pdu.short_message.decode("utf-16-be" if ucs2 else "latin-1"),
                }
            )
            return smpplib.consts.SMPP_ESME_ROK
        receipts.append(
            {
                "esm_class": pdu.esm_class,
                "source_addr": text(pdu.source_addr),
                "short_message": text(pdu.short_message),
                "receipted_message_id": text(getattr(pdu, "receipted_message_id", None) or b""),
                "message_state": getattr(pdu, "message_state", None),
            }
        )
        return smpplib.consts.SMPP_ESME_ROK

    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(on_received)
    client.connect()
    client.bind_transceiver(system_id=system_id, password=password)

    for label, message in MESSAGES:
        parts, coding, esm_class = smpplib.gsm.make_parts(message)
        for part in parts:
            pdu = client.send_message(
                source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
                source_addr_npi=smpplib.consts.SMPP_NPI_UNK,
                source_addr="Smpplib",
                dest_addr_ton=smpplib.consts.SMPP_TON_INTL,
                dest_addr_npi=smpplib.consts.SMPP_NPI_ISDN,
                destination_addr=DESTINATION,
                short_message=part,
                data_coding=coding,
                esm_class=esm_class,
                registered_delivery=True,
            )
            sent.append({"label": label, "sequence": pdu.sequence, "data_coding": coding})

    deadline = time.time() + 60
    while (
        len(responses) < len(sent) or len(receipts) < len(MESSAGES) or not replies
    ) and time.time() < deadline:
        client.read_once()

    # Receipts are in: the GSM-7 message is final.
    queries = []
    client.set_query_resp_handler(
        lambda pdu, **_: queries.append(
            {
                "message_id": text(pdu.message_id),
                "final_date": text(pdu.final_date or b""),
                "message_state": pdu.message_state,
                "error_code": pdu.error_code,
            }
        )
    )
    gsm7 = next(s["sequence"] for s in sent if s["label"] == "gsm7")
    client.query_message(
        message_id=next(r["message_id"] for r in responses if r["sequence"] == gsm7),
        source_addr_ton=smpplib.consts.SMPP_TON_ALNUM,
        source_addr_npi=smpplib.consts.SMPP_NPI_UNK,
        source_addr="Smpplib",
    )
    deadline = time.time() + 10
    while not queries and time.time() < deadline:
        client.read_once()

    client.unbind()
    client.disconnect()
    json.dump(
        {
            "sent": sent,
            "responses": responses,
            "receipts": receipts,
            "replies": replies,
            "queries": queries,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
