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
MONITOR_DENY_BLOCKING = b"ERR MONITOR isn't allowed for DENY BLOCKING client"
REPLICA_KEYSPACE = b"ERR Replica can't interact with the keyspace"
LOADING = b"LOADING Redis is loading the dataset in memory"
SSUBSCRIBE_DENY_BLOCKING = b"ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client"
NO_SHUTDOWN_IN_PROGRESS = b"ERR No shutdown in progress."
SHUTDOWN_SAVE_FAILED = (b"ERR Errors trying to SHUTDOWN. gyrekv keeps no persistence, so SAVE "
                        b"cannot be honoured (use NOSAVE, or FORCE to stop anyway)")
NO_PERSISTENCE = b"ERR gyrekv keeps no persistence: SAVE, BGSAVE and BGREWRITEAOF have nothing to write"

# Strings and bits.
DECR_OVERFLOW = b"ERR decrement would overflow"
LCS_WRONGTYPE = b"ERR The specified keys must contain string values"
LCS_LEN_AND_IDX = b"ERR If you want both the length and indexes, please just use IDX."
BITPOS_BIT = b"ERR The bit argument must be 1 or 0."
BITOP_NOT_ONE_KEY = b"ERR BITOP NOT must be called with a single source key."
BITFIELD_TYPE = (b"ERR Invalid bitfield type. Use something like i16 u8. "
                 b"Note that u64 is not supported but i64 is.")
BITFIELD_OVERFLOW = b"ERR Invalid OVERFLOW type specified"
BITFIELD_RO_GET_ONLY = b"ERR BITFIELD_RO only supports the GET subcommand"

# Keys and expiry.
UNSUPPORTED_OPTION = b"ERR Unsupported option %s"  # bytes %: the option as sent
INT_RANGE = b"ERR value is out of range, value must between -2147483648 and 2147483647"
OBJECT_IDLETIME = (
    b"ERR An LFU maxmemory policy is selected, idle time not tracked. "
    b"Please note that when switching between policies at runtime LRU and LFU data "
    b"will take some time to adjust."
)
OBJECT_FREQ = (
    b"ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
    b"Please note that when switching between policies at runtime LRU and LFU data "
    b"will take some time to adjust."
)

# Collections: lists, hashes, sets, sorted sets, SORT.
NUMKEYS_POSITIVE = b"ERR numkeys should be greater than 0"
NUMKEYS_OVER_ARGS = b"ERR Number of keys can't be greater than number of args"
AT_LEAST_ONE_KEY = "ERR at least 1 input key is needed for '%s' command"
COUNT_POSITIVE = b"ERR count should be greater than 0"
LIMIT_NEGATIVE = b"ERR LIMIT can't be negative"
VALUE_RANGE = b"ERR value is out of range"
RANDOM_COUNT_RANGE = (
    b"ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
)
LPOS_RANK_ZERO = (
    b"ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... "
    b"or use negative to start from the end of the list"
)
LPOS_COUNT_NEGATIVE = b"ERR COUNT can't be negative"
LPOS_MAXLEN_NEGATIVE = b"ERR MAXLEN can't be negative"
HASH_NOT_INTEGER = b"ERR hash value is not an integer"
HASH_NOT_FLOAT = b"ERR hash value is not a float"
NAN_OR_INF = b"ERR value is NaN or Infinity"
ZADD_NX_XX = b"ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = b"ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIR = b"ERR INCR option supports a single increment-element pair"
SCORE_NAN = b"ERR resulting score is not a number (NaN)"
MIN_MAX_NOT_FLOAT = b"ERR min or max is not a float"
MIN_MAX_NOT_LEX = b"ERR min or max not valid string range item"
WEIGHT_NOT_FLOAT = b"ERR weight value is not a float"
RANGE_LIMIT = b"ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
RANGE_BYLEX_WITHSCORES = b"ERR syntax error, WITHSCORES not supported in combination with BYLEX"
SORT_SCORE_NOT_FLOAT = b"ERR One or more scores can't be converted into double"

# Connection and server commands.
PROTOCOL_NOT_INTEGER = b"ERR Protocol version is not an integer or out of range"
HELLO_NOAUTH = (
    b"NOAUTH HELLO must be called with the client already authenticated, otherwise the "
    b"HELLO AUTH <user> <pass> option can be used to authenticate the client and select "
    b"the RESP protocol version at the same time"
)
HELLO_SYNTAX = b"ERR Syntax error in HELLO option '%s'"  # bytes %: the option as sent
CLIENT_NAME = b"ERR Client names cannot contain spaces, newlines or special characters."
INVALID_CLIENT_ID = b"ERR Invalid client ID"
CLIENT_ID_POSITIVE = b"ERR client-id should be greater than 0"
NO_SUCH_CLIENT = b"ERR No such client"
UNKNOWN_CLIENT_TYPE = "ERR Unknown client type '%s'"
NO_SUCH_USER = "ERR No such user '%s'"
CONFIG_NO_FILE = b"ERR The server is running without a config file"
CONFIG_REWRITE = b"ERR gyrekv cannot rewrite its configuration file"
FUNCTION_FLUSH_MODE = b"ERR FUNCTION FLUSH only supports SYNC|ASYNC option"
SLOWLOG_COUNT = b"ERR count should be greater than or equal to -1"

# CONFIG SET: the frame (with the argument's name) and the reasons that fill it.
CONFIG_SET_UNKNOWN = "ERR Unknown option or number of arguments for CONFIG SET - '%s'"
CONFIG_SET_FAILED = "ERR CONFIG SET failed (possibly related to argument '%s') - %s"
CONFIG_IMMUTABLE = "can't set immutable config"
CONFIG_DUPLICATE = "duplicate parameter"
CONFIG_BAD_SAVE = "Invalid save parameters"
CONFIG_YES_NO = "argument must be 'yes' or 'no'"
CONFIG_BUFFER_LIMIT_ARGS = "Wrong number of arguments in buffer limit configuration."
CONFIG_BUFFER_LIMIT_CLASS = "Invalid client class specified in buffer limit configuration."
CONFIG_BUFFER_LIMIT_VALUES = (
    "Error in hard, soft or soft_seconds setting in buffer limit configuration.")
CONFIG_EVENT_CLASS = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
CONFIG_NOT_INTEGER = "argument couldn't be parsed into an integer"
CONFIG_RANGE = "argument must be between %s and %s inclusive"
CONFIG_NOT_MEMORY = "argument must be a memory value"
CONFIG_CHOICES = "argument(s) must be one of the following: %s"
CONFIG_NO_PERSISTENCE = "gyrekv keeps no persistence"

# COMMAND GETKEYS.
INVALID_COMMAND = b"ERR Invalid command specified"
INVALID_ARG_COUNT = b"ERR Invalid number of arguments specified for command"
NO_KEY_ARGUMENTS = b"ERR The command has no key arguments"
INVALID_ARGUMENTS = b"ERR Invalid arguments specified for command"

# Server limits.
MAX_CLIENTS = b"ERR max number of clients reached"


def wrong_arity(name: str) -> bytes:
    """The arity error for a command (or ``container|sub`` subcommand) name."""
    return (WRONG_ARITY % name).encode()


def invalid_expire(name: str) -> bytes:
    return (INVALID_EXPIRE % name).encode()


def _c_string(data: bytes) -> bytes:
    """What C's ``%s`` prints of ``data``: the bytes before the first NUL."""
    nul = data.find(b"\0")
    return data if nul < 0 else data[:nul]


def unknown_command(argv: list[bytes]) -> bytes:
    """Redis's unknown-command text: the name cut to 128 bytes, then up to 128 bytes of arguments.

    Redis formats them with ``%.128s`` and ``%.*s``, so each stops at a NUL byte too.
    """
    args = b""
    for arg in argv[1:]:
        if len(args) >= 128:
            break
        args += b"'" + _c_string(arg[: 128 - len(args)]) + b"' "
    name = _c_string(argv[0][:128]) if argv else b""
    text = b"ERR unknown command '" + name + b"', with args beginning with: " + args
    return text


def config_set_failed(name: str, reason: str) -> bytes:
    """CONFIG SET's refusal of one argument, with Redis's reason text."""
    return (CONFIG_SET_FAILED % (name, reason)).encode()


def subcommand_syntax(argv: list[bytes]) -> bytes:
    """Redis's addReplySubcommandSyntaxError: the subcommand as typed, the container upper case."""
    return (b"ERR unknown subcommand or wrong number of arguments for '" + argv[1][:128]
            + b"'. Try " + argv[0].upper() + b" HELP.")


def unknown_subcommand(container: bytes, sub: bytes) -> bytes:
    return b"ERR unknown subcommand '" + _c_string(sub[:128]) + b"'. Try " + container.upper() + b" HELP."
NOT_ALLOWED_IN_MULTI = b"ERR Command not allowed inside a transaction"

# Transactions.
MULTI_NESTED = b"ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = b"ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = b"ERR DISCARD without MULTI"
EXECABORT = b"EXECABORT Transaction discarded because of previous errors."


OOM = b"OOM command not allowed when used memory > 'maxmemory'."


def exec_abort(reason: bytes) -> bytes:
    """EXEC refused before it ran (its arity): the transaction is discarded, the error says why."""
    return b"EXECABORT Transaction discarded because of: " + reason.removeprefix(b"ERR ")
WATCH_INSIDE_MULTI = b"ERR WATCH inside MULTI is not allowed"


def subscribed_context(name: str) -> bytes:
    """A RESP2 client in subscribed mode ran something else."""
    return (f"ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / "
            f"RESET are allowed in this context").encode()

# Blocking commands.
TIMEOUT_NOT_FLOAT = b"ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = b"ERR timeout is negative"
UNBLOCK_MODE = b"ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR"
UNBLOCKED = b"UNBLOCKED client unblocked via CLIENT UNBLOCK"


def internal_error(name: bytes, exc: Exception) -> bytes:
    """gyrekv's own: a command's handler failed with a bug of ours (Redis has no such reply).

    One line, so it stays a valid RESP error whatever the exception says.
    """
    detail = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
    return b"ERR internal error in '%s': %s" % (name, detail.encode("utf-8", "replace"))
