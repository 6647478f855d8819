using System.Buffers.Text;
using System.Security.Cryptography;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// The Lua scripts of the Redis broker. Each runs atomically on the node that holds its guild's keys (the keys of a
/// guild share the <c>{guildId}</c> hash tag), so every instance sees one order per guild.
/// </summary>
/// <remarks>
/// Keys: <c>KEYS[1]</c> is the guild's metadata hash (<c>e</c> = epoch, <c>s</c> = top sequence number),
/// <c>KEYS[2]</c> its stream. A stream entry's id is <c>&lt;seq&gt;-0</c>, so "everything after seq N" is one
/// <c>XRANGE</c>; its fields are <c>n</c> (event name, empty for a gap), <c>d</c> (data), <c>t</c> (broadcast time,
/// the publishing instance's clock) and <c>w</c> (Redis's own clock when appended: what the age bound is checked against).
/// The metadata and the stream expire together, <c>HistoryMaxAge</c> after the last publication; a stream whose
/// metadata is gone starts a new epoch (and is emptied), so a position of the old one can never recover across it.
/// </remarks>
internal static class RedisScripts
{
    /// <summary>A new epoch, for the argument "a new epoch to use if the stream has none" of the scripts: random, base64url.</summary>
    public static string NewEpoch() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));

    /// <summary>
    /// Publishes one or more messages of one guild. ARGV: capacity, ttl (ms), a new epoch to use if the stream has
    /// none, the channel, then (name, data, timestamp) per message. Returns <c>{epoch, lastSeq}</c>.
    /// The pub/sub payload is <c>seq \n epoch \n timestamp \n name \n data</c>.
    /// </summary>
    public const string Publish = """
        local e = redis.call('HGET', KEYS[1], 'e')
        if not e then
          e = ARGV[3]
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'e', e, 's', 0)
        end
        local t = redis.call('TIME')
        local w = tostring(t[1]) .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
        local s = 0
        for i = 5, #ARGV, 3 do
          s = redis.call('HINCRBY', KEYS[1], 's', 1)
          redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[1], s .. '-0', 'n', ARGV[i], 'd', ARGV[i + 1], 't', ARGV[i + 2], 'w', w)
          redis.call('PUBLISH', ARGV[4], s .. '\n' .. e .. '\n' .. ARGV[i + 2] .. '\n' .. ARGV[i] .. '\n' .. ARGV[i + 1])
        end
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        return {e, s}
        """;

    /// <summary>
    /// Reads a guild's position and, when ARGV[3] (a sequence number) is not negative and below the top, the stream
    /// entries after it. ARGV: a new epoch to use if the stream has none, ttl (ms), from. Returns
    /// <c>{epoch, top, nowMs[, entries]}</c>. Refreshes the keys' expiry: a guild that instances watch never expires
    /// while they do (its position checks read it every <c>PositionCheckInterval</c>).
    /// </summary>
    public const string Read = """
        local m = redis.call('HMGET', KEYS[1], 'e', 's')
        local e = m[1]
        local top = tonumber(m[2])
        if not e then
          e = ARGV[1]
          top = 0
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'e', e, 's', 0)
        end
        -- A guild somebody reads (subscribers' position checks) keeps its keys: the age bound of recovery is 'w'.
        redis.call('PEXPIRE', KEYS[1], ARGV[2])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        local t = redis.call('TIME')
        local now = tostring(t[1]) .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
        local from = tonumber(ARGV[3])
        -- ARGV[4]: the epoch the reader asked about ('' for any); a reader of another epoch gets the position only.
        if from < 0 or from >= top or (ARGV[4] ~= '' and ARGV[4] ~= e) then
          return {e, top, now}
        end
        return {e, top, now, redis.call('XRANGE', KEYS[2], (from + 1) .. '-0', '+')}
        """;

    /// <summary>
    /// Starts a new epoch if the stream is still in epoch ARGV[1] but below seq ARGV[2]: Redis lost writes this
    /// instance had already delivered (a restart from an older snapshot, a failover to a replica that missed them), so
    /// the numbers after its top would be given out again. ARGV: epoch, delivered seq, new epoch, ttl (ms).
    /// </summary>
    public const string RotateIfBehind = """
        local m = redis.call('HMGET', KEYS[1], 'e', 's')
        if m[1] == ARGV[1] and tonumber(m[2]) < tonumber(ARGV[2]) then
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'e', ARGV[3], 's', 0)
          redis.call('PEXPIRE', KEYS[1], ARGV[4])
          return 1
        end
        return 0
        """;
}
