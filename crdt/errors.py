"""Every error text the command engine sends, worded byte for byte as Redis 7.0 words them.

Strategy: handlers raise `CommandError(TEXT)`; the engine turns it into an
`ErrorReply` value that fills the command's reply slot. Clients dispatch on
the prefix (ERR, WRONGTYPE, NOAUTH, EXECABORT, ...), so the texts live here
and nowhere else. Texts with a ``%s`` take the command or argument name.
"""

from __future__ import annotations


class CommandError(Exception):
    """A command failed in a way the client is told about; state is unchanged."""

    def __init__(self, text: bytes) -> None:
        super().__init__(text)
        self.text = text


# Dispatch and arity.
UNKNOWN_COMMAND = "ERR unknown command '%s', with args beginning with: %s"
UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '%s'. Try %s HELP."
WRONG_ARITY = "ERR wrong number of arguments for '%s' command"
NOAUTH = b"NOAUTH Authentication required."
WRONGPASS = b"WRONGPASS invalid username-password pair or user is disabled."
AUTH_NOT_CONFIGURED = (
    b"ERR AUTH <password> called without any password configured for the default user. "
    b"Are you sure your configuration is correct?"
)

# Values.
WRONGTYPE = b"WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = b"ERR syntax error"
NOT_INTEGER = b"ERR value is not an integer or out of range"
NOT_FLOAT = b"ERR value is not a valid float"
OVERFLOW = b"ERR increment or decrement would overflow"
INCR_NAN_OR_INF = b"ERR increment would produce NaN or Infinity"
NO_SUCH_KEY = b"ERR no such key"
INVALID_EXPIRE = "ERR invalid expire time in '%s' command"
STRING_TOO_LONG = b"ERR string exceeds maximum allowed size (proto-max-bulk-len)"
BIT_OFFSET = b"ERR bit offset is not an integer or out of range"
BIT_VALUE = b"ERR bit is not an integer or out of range"
OFFSET_RANGE = b"ERR offset is out of range"
OUT_OF_RANGE = b"ERR value is out of range, must be positive"
INDEX_OUT_OF_RANGE = b"ERR index out of range"
BAD_CURSOR = b"ERR invalid cursor"
SAME_OBJECT = b"ERR source and destination objects are the same"
DB_INDEX = b"ERR DB index is out of range"
INVALID_DB_INDEX = b"ERR invalid first DB index"
INVALID_DB_INDEX_2 = b"ERR invalid second DB index"
EXPIRE_OPTIONS = b"ERR NX and XX, GT or LT options at the same time are not compatible"
EXPIRE_GT_LT = b"ERR GT and LT options at the same time are not compatible"
PROTOCOL_VERSION = b"NOPROTO unsupported protocol version"
NO_PERSISTENCE = b"ERR gyrekv keeps no persistence: SAVE, BGSAVE and BGREWRITEAOF have nothing to write"

# Server limits.
MAX_CLIENTS = b"ERR max number of clients reached"


def wrong_arity(name: str) -> bytes:
    """The arity error for a command (or ``container|sub`` subcommand) name."""
    return (WRONG_ARITY % name).encode()


def invalid_expire(name: str) -> bytes:
    return (INVALID_EXPIRE % name).encode()


def unknown_command(argv: list[bytes]) -> bytes:
    """Redis's unknown-command text: the name cut to 128 bytes, then up to 128 bytes of arguments."""
    args = b""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'" + arg[: 128 - len(args)] + b"' "
    name = argv[0][:128] if argv else b""
    text = b"ERR unknown command '" + name + b"', with args beginning with: " + args
    return text


def unknown_subcommand(container: bytes, sub: bytes) -> bytes:
    return b"ERR unknown subcommand '" + sub[:128] + b"'. Try " + container.upper() + b" HELP."
