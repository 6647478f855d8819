namespace LiveUpdates.LoadTest;

/// <summary>Settings of one load run (command line of <c>run</c>; docs/benchmarks.md lists them).</summary>
internal sealed record RunSettings
{
    /// <summary>
    /// Every target of the full run, in order: LiveUpdates on both transports (HttpListener; ASP.NET Core), each with
    /// plain and batch clients, the peers, and the two transports' floors (idle scenario only).
    /// </summary>
    public const string AllTargets = "liveupdates,liveupdates-batch,liveupdates-aspnetcore,liveupdates-aspnetcore-batch,kestrel,node-ws,signalr,httplistener-floor,kestrel-floor";

    /// <summary>The scenarios of the full run; <c>cost</c> and <c>stall</c> (the older tool's) can be added.</summary>
    public const string DefaultScenarios = "idle,burst,paced,guilds10,kb1";

    /// <summary>Clients connected and authenticated at once (the idle scenario's count; the other audiences are capped by it).</summary>
    public int Clients { get; init; } = 10_000;

    public string[] Targets { get; init; } = AllTargets.Split(',');

    public string Scenarios { get; init; } = DefaultScenarios;

    public int PortBase { get; init; } = 3002;

    /// <summary>Where the raw JSON goes; by default beside the Markdown file.</summary>
    public string? OutJson { get; init; }

    /// <summary>The folder of <c>&lt;date&gt;.md</c> (and the JSON); default tests/LiveUpdates.Benchmarks/results.</summary>
    public string? OutDirectory { get; init; }

    /// <summary>Members of the burst and paced guild (capped by <see cref="Clients"/>).</summary>
    public int GuildMembers { get; init; } = 1000;

    /// <summary>The two bursts of a mass action into that guild.</summary>
    public int[] Bursts { get; init; } = [2000, 10_000];

    public double PacedRate { get; init; } = 50;

    public int PacedSeconds { get; init; } = 20;

    /// <summary>Clients spread over ten guilds, and the clients of the 1 KB guild (each capped by <see cref="Clients"/>).</summary>
    public int WideClients { get; init; } = 5000;

    /// <summary>Events to each of the ten guilds, in turn.</summary>
    public int EventsPerWideGuild { get; init; } = 200;

    /// <summary>Events of about 1 KB to the 5,000-client guild.</summary>
    public int KbEvents { get; init; } = 200;

    public int KbPadBytes { get; init; } = 1000;

    /// <summary>Padding of the other events' data (an event is then about 200 bytes on the wire).</summary>
    public int PadBytes { get; init; } = 64;

    public int ConnectConcurrency { get; init; } = 64;

    /// <summary>How often each client pings (the dashboard's client pings a third of LiveUpdates' 60 s idle timeout; SignalR's every 15 s).</summary>
    public int PingSeconds { get; init; } = 15;

    /// <summary>Each burst is run this many times and the median kept (a lossy run is never averaged in: it marks the scenario).</summary>
    public int Repeats { get; init; } = 1;

    /// <summary>The cap on any one scenario's wait for its deliveries (it also gives up after 10 s without progress).</summary>
    public int ScenarioTimeoutSeconds { get; init; } = 120;

    /// <summary>
    /// The cap on one scenario's broadcasting: a server whose Broadcast() waits for its sends (the Node.js peer sends
    /// synchronously; SignalR awaits its pipes) stops after this long, and the scenario says how many events it made.
    /// </summary>
    public int BroadcastCapSeconds { get; init; } = 60;

    /// <summary>The pace of the opt-in <c>cost</c> scenario (Broadcast() timed for 1 to N subscribers).</summary>
    public int CostRate { get; init; } = 1000;

    public int PauseAfterConnect { get; init; }
}
