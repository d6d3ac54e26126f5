"""Drives relais' SMSFactor dialect with the real PyPI `smsfactor` client.

Usage: smsfactor_client.py <base url> <token> <delivery report url>
Prints one JSON object with what the client saw, for the Rust test to check.
"""

import json
import sys

from smsfactor.smsfactor import SMSFactorAPI, SMSFactorException

base, token, dlr_url = sys.argv[1], sys.argv[2], sys.argv[3]

api = SMSFactorAPI(token)
api.url = base

campaign = {
    "sms": {
        "message": {"text": "Bonjour depuis relais", "pushtype": "alert", "sender": "Relais"},
        "recipients": {
            "gsm": [
                {"gsmsmsid": "100", "value": "33612345678"},
                {"gsmsmsid": "101", "value": "33612345677"},
            ]
        },
    }
}

seen = {"credits_before": api.credits}
seen["webhook"] = api.post("/webhook", {"webhook": {"type": "DLR", "url": dlr_url}})
seen["simulate"] = api.post("/send/simulate", campaign)
seen["send"] = api.post("/send", campaign)
seen["credits_after"] = api.credits

# The client turns SMSFactor's error statuses into exceptions.
wrong = SMSFactorAPI("not-a-token")
wrong.url = base
try:
    wrong.credits
    seen["wrong_token"] = None
except SMSFactorException as e:
    seen["wrong_token"] = str(e)

print(json.dumps(seen))
