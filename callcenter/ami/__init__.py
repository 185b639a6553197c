"""The AMI edge: one TCP link to Asterisk, kept alive, resynced after every reconnect.

Modules, from the wire up: ``framing`` (bytes -> whole message texts), ``message_text``
(text <-> dict), ``protocol`` (panoramisk's AMIProtocol with both), ``client`` (``AmiClient``:
login, Ping, backoff, resync, actions), ``listener``/``status``/``errors`` (its interface), and
for tests and demos ``sim`` (``AmiSimulator``) with ``trace``, ``synthetic`` and ``pbx_state``.
"""

from .client import AmiClient
from .errors import ActionFailed, ActionLost, AmiAuthFailed, AmiError, AmiNotConnected
from .listener import AmiListener
from .status import AmiState, AmiStatus

__all__ = [
    "ActionFailed", "ActionLost", "AmiAuthFailed", "AmiClient", "AmiError", "AmiListener",
    "AmiNotConnected", "AmiState", "AmiStatus",
]
