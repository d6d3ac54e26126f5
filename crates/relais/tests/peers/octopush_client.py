"""Drives relais' Octopush dialect with the official Python SDK (PyPI
`octopush`), unmodified: only its module global DOMAIN points at relais.

Usage: octopush_client.py BASE LOGIN API_KEY
  BASE     the dialect's root, e.g. http://127.0.0.1:8080/compat/octopush

Prints one JSON object with what the SDK answered (or the messages of the
exceptions it raised) for each step; the Rust test asserts on it.
"""

import json
import sys

import octopush
from octopush import SMS


def texts(element, tags):
    """The text of each child `tag` of an ElementTree element."""
    return {tag: element.find(tag).text for tag in tags}


def failure(call):
    """The message of the exception `call` raises (the SDK's ERRORS text)."""
    try:
        call()
    except Exception as error:  # the SDK raises bare Exceptions
        return str(error)
    return None


def main():
    base, login, api_key = sys.argv[1:4]
    octopush.DOMAIN = base
    out = {}

    sms = SMS(login, api_key)
    balance = sms.get_balance()
    out["balance"] = {b.attrib["type"]: b.text for b in balance.findall("balance")}

    # A transactional send to two numbers (one given twice, one invalid),
    # signed with request_keys as the SDK computes request_sha1.
    sms.set_sms_text("Votre code : 1234")
    sms.set_sms_recipients(["+33601010101", "+33601010102", "+33601010101", "+3"])
    sms.set_sms_type(octopush.SMS_PREMIUM)
    sms.set_sms_sender("MyShop")
    sms.set_option_transactional(1)
    sms.set_sms_request_id("order-42")
    sms.set_request_keys("TRYSQ")
    sent = sms.send()
    out["send"] = texts(
        sent,
        ["error_code", "cost", "balance", "ticket", "sending_date",
         "number_of_sendings", "currency_code"],
    )
    out["send"]["successes"] = [
        texts(s, ["recipient", "country_code", "cost", "sms_needed"])
        for s in sent.findall("successs/success")
    ]
    out["send"]["failures"] = [
        texts(f, ["error_code", "recipient"]) for f in sent.findall("failures/failure")
    ]

    # The same request_id again: error 120.
    out["repeat"] = failure(sms.send)

    # A deferred low-cost ("standard") marketing send with its STOP mention, then
    # one without any mention: 122, the low-cost code.
    promo = SMS(login, api_key)
    promo.set_sms_text("Soldes -20% STOP au 36180")
    promo.set_sms_recipients(["+33601010103"])
    promo.set_sms_type(octopush.SMS_STANDARD)
    promo.set_sms_mode(octopush.DIFFERE)
    promo.set_date(2100, 1, 5, 12, 0)
    deferred = promo.send()
    out["deferred"] = texts(deferred, ["error_code", "ticket", "sending_date", "cost"])
    out["deferred"]["expected_sending_date"] = str(promo.sending_date)
    promo.set_sms_text("Soldes -20% ce week-end")
    out["missing_stop"] = failure(promo.send)

    # Simulation: nothing stored.
    simulated = SMS(login, api_key)
    simulated.set_sms_text("Votre code : 5678")
    simulated.set_sms_recipients(["+33601010104"])
    simulated.set_option_transactional(1)
    simulated.set_simulation_mode()
    result = simulated.send()
    out["simulation"] = texts(result, ["error_code", "ticket", "cost"])

    # Wrong credentials: error 101.
    out["wrong_key"] = failure(SMS(login, "not-a-key").get_balance)

    print(json.dumps(out))


if __name__ == "__main__":
    main()
