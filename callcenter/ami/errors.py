"""The AMI exception tree, drawn once.

    AmiError
    ├── AmiNotConnected   no logged-in AMI link right now; nothing was sent
    ├── AmiAuthFailed     Asterisk refused the Login (wrong username/secret, ACL)
    ├── ActionLost        the action was written, but its reply never came (link dropped or
    │                     timed out); Asterisk may or may not have carried it out, and it is
    │                     never re-sent automatically
    └── ActionFailed      Asterisk answered ``Response: Error`` (``.message`` holds its text)

Everything the AMI package raises to callers is one of these; socket errors, timeouts and
panoramisk's own failures are translated at the boundary (``client.py``, ``protocol.py``).
"""

from __future__ import annotations


class AmiError(Exception):
    """Base of every error raised by ``callcenter.ami``."""

    code = "ami_error"


class AmiNotConnected(AmiError):
    """There is no logged-in AMI link at the moment; the action was not sent."""

    code = "ami_not_connected"


class AmiAuthFailed(AmiError):
    """Asterisk answered the Login with ``Response: Error`` (e.g. ``Authentication failed``)."""

    code = "ami_auth_failed"


class ActionLost(AmiError):
    """The action was sent but its reply was lost: the link dropped or no reply came in time.

    The outcome is unknown (Asterisk may have executed it). It is never re-sent by the client;
    deciding whether to try again is the caller's business.
    """

    code = "ami_action_lost"

    def __init__(self, message: str, *, action: str = "", action_id: str = "") -> None:
        super().__init__(message)
        self.action = action
        self.action_id = action_id


class ActionFailed(AmiError):
    """Asterisk refused the action (``Response: Error``); ``message`` is Asterisk's text."""

    code = "ami_action_failed"

    def __init__(self, message: str, *, action: str = "", action_id: str = "") -> None:
        super().__init__(f"{action or 'action'} failed: {message}")
        self.message = message
        self.action = action
        self.action_id = action_id
