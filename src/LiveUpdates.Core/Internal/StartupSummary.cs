using System.Globalization;
using System.Reflection;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Brokers;
using LiveUpdates.Internal.Security;
using LiveUpdates.Internal.Transport;
using LiveUpdates.Security;
using Microsoft.Extensions.Logging;

namespace LiveUpdates.Internal;

/// <summary>
/// The words of the start-up summary that <see cref="WebSocketManager.StartAsync(CancellationToken)"/> logs: where
/// clients connect, which origins may, who sees which guild, which broker carries events, and every setting changed
/// from its default. Pure functions of the options and the seams in use, so that they can be tested without a server.
/// </summary>
internal static partial class StartupSummary
{
    /// <summary>Logs what an operator needs to know of a server that just started, one line per concern.</summary>
    /// <param name="logger">The server's logger (the lines keep its category).</param>
    /// <param name="options">The server's options.</param>
    /// <param name="listenerHosts">The hosts the HttpListener bound, or <see langword="null"/> when it is off (a host's endpoint takes sockets).</param>
    /// <param name="policy">The access policy in use.</param>
    /// <param name="broker">The broker in use.</param>
    public static void Log(ILogger logger, LiveUpdatesOptions options, IReadOnlyList<string>? listenerHosts, IGuildAccessPolicy policy, IBroker broker)
    {
        if (listenerHosts is null)
        {
            Lines.AcceptingFromHost(logger);
        }
        else
        {
            Lines.Listening(logger, string.Join(", ", listenerHosts.Select(h => $"http://{h}:{options.Port}/")), ClientUrls(options, listenerHosts));
        }

        Lines.OriginPolicy(logger, Origins(options));
        if (IsMemberSourceWithoutStore(policy))
        {
            Lines.AccessPolicyWarning(logger, Access(policy, options));
        }
        else
        {
            Lines.AccessPolicy(logger, Access(policy, options));
        }

        Lines.Broker(logger, Broker(broker, options));
        Lines.ChangedSettings(logger, ChangedSettings(options));
    }

    private const string S = LiveUpdatesOptions.SectionName;

    /// <summary>The URLs a client should dial (<paramref name="hosts"/> are those the listener registered), and what HttpListener does with other host names.</summary>
    public static string ClientUrls(LiveUpdatesOptions options, IReadOnlyList<string> hosts)
    {
        var path = options.Path.Length > 1 ? options.Path.TrimEnd('/') : "/";
        if (ListenerHost.IsEveryAddress(options.Host))
        {
            return $"ws://<any address or name of this machine>:{options.Port}{path} (every address; e.g. ws://localhost:{options.Port}{path})";
        }

        var urls = string.Join(" or ", hosts.Select(h => $"ws://{h}:{options.Port}{path}"));
        return $"{urls} only: {S}:Host is '{options.Host}', and HttpListener answers a request for any other host name with 404 before LiveUpdates sees it (set {S}:Host to '+' for every address)";
    }

    public static string Origins(LiveUpdatesOptions options) => options.AllowedOrigins.Count == 0
        ? $"any origin ({S}:AllowedOrigins is empty); browsers on every site may open a socket"
        : $"only {string.Join(", ", options.AllowedOrigins)} ({S}:AllowedOrigins; other browser origins get HTTP 403, clients that send no Origin are not checked)";

    /// <summary>Who will see what under the access policy in use.</summary>
    public static string Access(IGuildAccessPolicy policy, LiveUpdatesOptions options) => policy switch
    {
        TokenClaimGuildAccessPolicy =>
            $"the guilds listed in the token's '{options.GuildsClaim}' claim ({S}:GuildsClaim), every feature of each (no IGuildMemberSource registered)",
        DashboardAccessPolicy { HasStore: true } dashboard =>
            $"the dashboard permission model: members from {dashboard.MemberSourceName}, role overrides from {dashboard.StoreName}, over {CategoryCount(options)}; the token's '{options.GuildsClaim}' claim is not read",
        DashboardAccessPolicy dashboard =>
            $"the dashboard permission model with NO permission store: members from {dashboard.MemberSourceName}; guild owners and administrators see every guild they share with the bot, every other member sees nothing, and the token's '{options.GuildsClaim}' claim is not read. Add .AddMongoPermissionStore() (or register an IDashboardPermissionStore) to let other roles in, or remove the IGuildMemberSource to use the token's guilds",
        _ => $"the host's {policy.GetType().FullName}",
    };

    public static bool IsMemberSourceWithoutStore(IGuildAccessPolicy policy) => policy is DashboardAccessPolicy { HasStore: false };

    public static string Broker(IBroker broker, LiveUpdatesOptions options) => broker switch
    {
        InMemoryBroker => $"in-memory, this process only (history: {options.HistoryCapacity} events, {options.HistoryMaxAge} per guild)",
        _ when (broker.Capabilities & BrokerCapabilities.Shared) != 0 => $"{broker.GetType().Name}, shared with the other instances (history: {options.HistoryCapacity} events, {options.HistoryMaxAge} per guild)",
        _ => broker.GetType().Name,
    };

    /// <summary>Every setting that differs from its default, as <c>Name=value (default d)</c>; secrets only counted.</summary>
    public static string ChangedSettings(LiveUpdatesOptions options)
    {
        var defaults = new LiveUpdatesOptions();
        var changes = new List<string>();
        foreach (var property in typeof(LiveUpdatesOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.Name is nameof(LiveUpdatesOptions.AuthSecret) or nameof(LiveUpdatesOptions.ConnectionTokenKey) or nameof(LiveUpdatesOptions.Port) or nameof(LiveUpdatesOptions.Host) or nameof(LiveUpdatesOptions.Path)
                || (property.PropertyType != typeof(int) && property.PropertyType != typeof(bool) && property.PropertyType != typeof(TimeSpan) && property.PropertyType != typeof(string)))
            {
                continue;
            }

            var value = property.GetValue(options);
            var initial = property.GetValue(defaults);
            if (!Equals(value, initial))
            {
                changes.Add($"{property.Name}={Format(value)} (default {Format(initial)})");
            }
        }

        if (options.TrustedProxies.Count > 0)
        {
            changes.Add($"TrustedProxies={string.Join(", ", options.TrustedProxies)}");
        }

        if (options.PreviousConnectionTokenKeys is { Count: > 0 } keys)
        {
            changes.Add($"PreviousConnectionTokenKeys: {keys.Count} older key(s)");
        }

        if (options.AdditionalAuthSecrets is { Count: > 0 } secrets)
        {
            changes.Add($"AdditionalAuthSecrets: {secrets.Count} older secret(s)");
        }

        if (options.SessionCookieNames is { } cookies && !cookies.SequenceEqual(defaults.SessionCookieNames))
        {
            changes.Add($"SessionCookieNames={string.Join(", ", cookies)}");
        }

        if (!options.LatestValueActions.SetEquals(defaults.LatestValueActions))
        {
            changes.Add($"LatestValueActions={string.Join(", ", options.LatestValueActions)}");
        }

        if (options.EventCategories.Count > 0)
        {
            changes.Add($"EventCategories={string.Join(", ", options.EventCategories.Select(p => $"{p.Key}→{p.Value}"))}");
        }

        return changes.Count == 0 ? "none: every limit and timeout is at its default" : string.Join("; ", changes);
    }

    private static string CategoryCount(LiveUpdatesOptions options) => options.PermissionCategories.Count == 0
        ? $"no permission categories ({S}:PermissionCategories is empty: a user sees a guild's every event or none)"
        : $"{options.PermissionCategories.Count} permission categor{(options.PermissionCategories.Count == 1 ? "y" : "ies")} ({string.Join(", ", options.PermissionCategories.Keys)})";

    private static string Format(object? value) => value switch
    {
        null => "(none)",
        TimeSpan span when span == Timeout.InfiniteTimeSpan => "infinite",
        TimeSpan span => span.ToString("c", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static partial class Lines
    {
        [LoggerMessage(1, LogLevel.Information, "LiveUpdates WebSocket server listening on {Prefix}; clients connect to {ClientUrls}")]
        public static partial void Listening(ILogger logger, string prefix, string clientUrls);

        [LoggerMessage(32, LogLevel.Information, "LiveUpdates WebSocket server started; its HttpListener is off, sockets come from the host's endpoint")]
        public static partial void AcceptingFromHost(ILogger logger);

        [LoggerMessage(27, LogLevel.Information, "LiveUpdates origins: {Origins}")]
        public static partial void OriginPolicy(ILogger logger, string origins);

        [LoggerMessage(28, LogLevel.Information, "LiveUpdates access: {Access}")]
        public static partial void AccessPolicy(ILogger logger, string access);

        [LoggerMessage(29, LogLevel.Warning, "LiveUpdates access: {Access}")]
        public static partial void AccessPolicyWarning(ILogger logger, string access);

        [LoggerMessage(30, LogLevel.Information, "LiveUpdates broker: {Broker}")]
        public static partial void Broker(ILogger logger, string broker);

        [LoggerMessage(31, LogLevel.Information, "LiveUpdates settings changed from their defaults: {Changes}")]
        public static partial void ChangedSettings(ILogger logger, string changes);
    }
}
