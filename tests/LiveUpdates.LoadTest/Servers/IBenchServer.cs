namespace LiveUpdates.LoadTest.Servers;

/// <summary>A WebSocket server under load: LiveUpdates itself, or a .NET peer speaking the same protocol (the Node.js peer is a script: peers/node-ws).</summary>
internal interface IBenchServer : IAsyncDisposable
{
    string Name { get; }

    int ConnectionCount { get; }

    Task StartAsync(int port, string secret);

    /// <summary>The plugin's call: returns when the event is handed off (LiveUpdates), queued to every member (Kestrel) or written to every member's pipe (SignalR).</summary>
    void Broadcast(string guildId, string eventName, object data);

    /// <summary>Extra counters the server can report (drops, slow-consumer closes...).</summary>
    IReadOnlyDictionary<string, long> Counters { get; }

    /// <summary>The settings this server runs with that differ from its defaults, each with the reason; empty for defaults.</summary>
    IReadOnlyList<BenchSetting> Settings { get; }
}
