namespace LiveUpdates.LoadTest.Servers;

/// <summary>A WebSocket server under load: LiveUpdates itself, or the Kestrel baseline speaking the same protocol.</summary>
internal interface IBenchServer : IAsyncDisposable
{
    string Name { get; }

    int ConnectionCount { get; }

    Task StartAsync(int port, string secret);

    /// <summary>The plugin's call: returns when the event is handed off (LiveUpdates) or queued to every member (baseline).</summary>
    void Broadcast(string guildId, string eventName, object data);

    /// <summary>Extra counters the server can report (drops, slow-consumer closes...).</summary>
    IReadOnlyDictionary<string, long> Counters { get; }
}
