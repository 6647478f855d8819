using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

/// <summary>What a failed Redis command tells about its effect.</summary>
internal enum CommandOutcome
{
    /// <summary>It did not run (never sent, or Redis refused it before any write): sending it again cannot duplicate anything.</summary>
    NotExecuted,

    /// <summary>It did not run because the node is not (or no longer) a writable primary: the topology changed.</summary>
    NotExecutedTopology,

    /// <summary>It may or may not have run (sent, then a timeout or a dropped connection).</summary>
    Unknown,
}

/// <summary>Classifies Redis errors (stateless).</summary>
internal static class RedisErrors
{
    // Replies that mean the command was refused before it ran (a script fails at its first write: nothing was written).
    private static readonly string[] NotExecutedReplies = ["LOADING", "BUSY", "CLUSTERDOWN", "TRYAGAIN", "NOSCRIPT"];
    private static readonly string[] TopologyReplies = ["READONLY", "MASTERDOWN"];

    public static CommandOutcome Classify(Exception ex) => ex switch
    {
        RedisServerException server when StartsWithAny(server.Message, TopologyReplies) => CommandOutcome.NotExecutedTopology,
        RedisServerException server when StartsWithAny(server.Message, NotExecutedReplies) => CommandOutcome.NotExecuted,

        // Connected, but to no node that takes writes (the primary is gone, a replica not yet promoted, or promoted
        // without the client library having re-read the roles): the topology changed as far as the broker can tell.
        RedisConnectionException { FailureType: ConnectionFailureType.UnableToResolvePhysicalConnection } => CommandOutcome.NotExecutedTopology,
        RedisConnectionException c when c.CommandStatus is CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog ||
                                         c.FailureType is ConnectionFailureType.UnableToResolvePhysicalConnection or ConnectionFailureType.UnableToConnect => CommandOutcome.NotExecuted,
        RedisTimeoutException t when t.Commandstatus is CommandStatus.WaitingToBeSent or CommandStatus.WaitingInBacklog => CommandOutcome.NotExecuted,
        _ => CommandOutcome.Unknown,
    };

    /// <summary>Whether a reply says the node is not a writable primary (a failover happened or is happening).</summary>
    public static bool IsTopologyChange(Exception ex) => ex is RedisServerException server && StartsWithAny(server.Message, TopologyReplies);

    private static bool StartsWithAny(string message, string[] codes)
    {
        // Redis 7 keeps the error code of a command a script called; older servers prefix it with "ERR Error running script".
        foreach (var code in codes)
        {
            if (message.StartsWith(code, StringComparison.Ordinal) || message.Contains(" -" + code + " ", StringComparison.Ordinal) ||
                message.Contains(": -" + code, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
