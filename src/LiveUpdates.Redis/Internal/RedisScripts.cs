using System.Buffers.Text;
using System.Security.Cryptography;

namespace LiveUpdates.Redis.Internal;

/// <summary>
/// The Lua scripts of the Redis broker. Each runs atomically on the node that holds its guild's keys (the keys of a
/// guild share the <c>{guildId}</c> hash tag), so every instance sees one order per guild.
/// </summary>
/// <remarks>
/// <para>
/// Keys: <c>KEYS[1]</c> is the guild's metadata hash (<c>e</c> = epoch, <c>s</c> = top sequence number, <c>l</c> = the top entry's identity),
/// <c>KEYS[2]</c> its stream. A stream entry's id is <c>&lt;seq&gt;-0</c>, so "everything after seq N" is one
/// <c>XRANGE</c>; its fields are <c>n</c> (event name, empty for a gap), <c>d</c> (data), <c>t</c> (broadcast time,
/// the publishing instance's clock), <c>w</c> (Redis's own clock when appended: what the age bound is checked against)
/// and <c>i</c> (the entry's identity: a random number the publishing instance chose, also in the channel message).
/// The stream expires <c>HistoryMaxAge</c> after the last publication, the metadata much later (its own lifetime), so a
/// quiet guild whose history merely expired keeps its epoch and top; a stream whose metadata is gone starts a new
/// epoch (and is emptied), so a position of the old one can never recover across it.
/// </para>
/// <para>
/// Both scripts take an <em>anchor</em> — epoch, seq and entry identity of a publication the caller knows Redis
/// acknowledged — and start a new epoch first when the stream contradicts it: still in that epoch, but its top is below
/// the anchor's seq, or its entry at that seq has another identity. That is Redis having lost acknowledged writes (a
/// restart from an older snapshot, a failover to a replica that lagged): without the new epoch, the numbers after its
/// top would be given out again and one position would name two events.
/// </para>
/// </remarks>
internal static class RedisScripts
{
    /// <summary>
    /// The anchor check (see the remarks). Expects <c>m</c> = <c>HMGET meta e s</c> and the anchor in
    /// <c>ARGV[5..8]</c> (epoch, '' for none; seq; identity, '' if unknown; capacity); sets <c>e</c> to false when the
    /// stream contradicts it. An entry that is not there (trimmed, expired) is no evidence either way.
    /// </summary>
    private const string CheckAnchor = """
        local e = m[1]
        local rotated = 0
        if e and ARGV[5] ~= '' and e == ARGV[5] then
          local at = tonumber(ARGV[6])
          local diverged = tonumber(m[2]) < at
          if not diverged and ARGV[7] ~= '' then
            local x = redis.call('XRANGE', KEYS[2], at .. '-0', at .. '-0')
            if #x > 0 then
              local f = x[1][2]
              for j = 1, #f, 2 do
                if f[j] == 'i' and f[j + 1] ~= ARGV[7] then diverged = true end
              end
            end
          end
          if diverged then
            e = false
            rotated = 1
          end
        end
        if not e then
          e = ARGV[1]
          redis.call('DEL', KEYS[2])
          redis.call('HSET', KEYS[1], 'e', e, 's', 0, 'l', '')
          m[3] = ''
        end
        """;

    /// <summary>A new epoch, for the argument "a new epoch to use if the stream has none" of the scripts: random, base64url.</summary>
    public static string NewEpoch() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(9));

    /// <summary>A new entry identity: random, positive, written in decimal (Lua only compares it as a string).</summary>
    public static long NewEntryId() => Random.Shared.NextInt64(1, long.MaxValue);

    /// <summary>
    /// Publishes one or more messages of one guild, once: <c>KEYS[3]</c> is the batch's result key (named after the
    /// identity of its first entry), which a batch retried after an unknown outcome finds and answers from.
    /// ARGV: a new epoch to use if the stream has none, stream ttl (ms), meta ttl (ms), the channel, the anchor
    /// (epoch, seq, identity, capacity), then (name, data, timestamp, identity) per message. Returns
    /// <c>{epoch, lastSeq, rotated, replayed}</c>. The pub/sub payload is <c>seq \n epoch \n identity \n previous identity \n timestamp \n name \n data</c>
    /// (the previous identity is the entry's predecessor in the stream, '' after a new epoch: a feed checks it continues what it delivered).
    /// </summary>
    public const string Publish = """
        local done = redis.call('GET', KEYS[3])
        if done then
          local sep = string.find(done, ':', 1, true)
          return {string.sub(done, 1, sep - 1), tonumber(string.sub(done, sep + 1)), 0, 1}
        end
        local m = redis.call('HMGET', KEYS[1], 'e', 's', 'l')
        """ + "\n" + CheckAnchor + """

        local t = redis.call('TIME')
        local w = tostring(t[1]) .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
        local s = 0
        local prev = m[3] or ''
        for i = 9, #ARGV, 4 do
          s = redis.call('HINCRBY', KEYS[1], 's', 1)
          redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[8], s .. '-0', 'n', ARGV[i], 'd', ARGV[i + 1], 't', ARGV[i + 2], 'w', w, 'i', ARGV[i + 3])
          redis.call('PUBLISH', ARGV[4], s .. '\n' .. e .. '\n' .. ARGV[i + 3] .. '\n' .. prev .. '\n' .. ARGV[i + 2] .. '\n' .. ARGV[i] .. '\n' .. ARGV[i + 1])
          prev = ARGV[i + 3]
        end
        redis.call('HSET', KEYS[1], 'l', prev)
        redis.call('PEXPIRE', KEYS[1], ARGV[3])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        redis.call('SET', KEYS[3], e .. ':' .. s, 'PX', ARGV[2])
        return {e, s, rotated, 0}
        """;

    /// <summary>
    /// <see cref="Publish"/> with the channel message sent by <c>SPUBLISH</c> (sharded pub/sub, Redis/Valkey 7.0+): the
    /// channel carries the guild's hash tag, so the script publishes on the shard that owns the guild's keys.
    /// </summary>
    public static readonly string PublishSharded = Publish.Replace("redis.call('PUBLISH', ", "redis.call('SPUBLISH', ", StringComparison.Ordinal);

    /// <summary>
    /// Reads a guild's position and, when ARGV[3] (a sequence number) is not negative and below the top, the stream
    /// entries after it; checks the anchor first. ARGV: a new epoch to use if the stream has none, ttl (ms), from,
    /// meta ttl (ms), the anchor (epoch, seq, identity, capacity), the epoch the reader asked about ('' for any: a
    /// reader of another epoch gets the position only). Returns <c>{epoch, top, nowMs, rotated, topIdentity[, entries]}</c>.
    /// Refreshes the keys' expiry: a guild that instances watch never expires while they do (its position checks read
    /// it every <c>PositionCheckInterval</c>).
    /// </summary>
    public const string Read = """
        local m = redis.call('HMGET', KEYS[1], 'e', 's', 'l')
        """ + "\n" + CheckAnchor + """

        local top = 0
        if rotated == 0 and m[1] then top = tonumber(m[2]) end
        -- A guild somebody reads (subscribers' position checks) keeps its keys: the age bound of recovery is 'w'.
        redis.call('PEXPIRE', KEYS[1], ARGV[4])
        redis.call('PEXPIRE', KEYS[2], ARGV[2])
        local t = redis.call('TIME')
        local now = tostring(t[1]) .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
        local topId = ''
        if top > 0 and m[3] then topId = m[3] end
        local from = tonumber(ARGV[3])
        -- ARGV[9]: the epoch the reader asked about ('' for any); a reader of another epoch gets the position only.
        if from < 0 or from >= top or (ARGV[9] ~= '' and ARGV[9] ~= e) then
          return {e, top, now, rotated, topId}
        end
        return {e, top, now, rotated, topId, redis.call('XRANGE', KEYS[2], (from + 1) .. '-0', '+')}
        """;
}
