using System.Text;
using Microsoft.Extensions.Options;

namespace LiveUpdates;

/// <summary>
/// Checks <see cref="LiveUpdatesOptions"/>: every problem is reported, each message naming the setting (and its
/// environment variable, where there is one) and saying what to do. <see cref="WebSocketManager"/> runs the same
/// checks when it is created; register this validator to have a host fail at start-up instead.
/// </summary>
public sealed class LiveUpdatesOptionsValidator : IValidateOptions<LiveUpdatesOptions>
{
    internal const int MinSecretBytes = 32;
    internal const int MinInboundMessageBytes = 1024;
    internal const int MinReceiveBufferBytes = 256;
    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Checks <paramref name="options"/>.</summary>
    /// <param name="name">The options instance's name; every name is checked the same way.</param>
    /// <param name="options">The options to check.</param>
    /// <returns>Success, or a failure listing every problem found.</returns>
    public ValidateOptionsResult Validate(string? name, LiveUpdatesOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = Collect(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Throws <see cref="OptionsValidationException"/> with every problem when the options are invalid.</summary>
    internal static void ThrowIfInvalid(LiveUpdatesOptions options)
    {
        var errors = Collect(options);
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(LiveUpdatesOptions), errors);
        }
    }

    private static List<string> Collect(LiveUpdatesOptions o)
    {
        const string S = LiveUpdatesOptions.SectionName;
        var errors = new List<string>();

        if (o.Port is < 1 or > 65535)
        {
            errors.Add($"{S}:Port (environment variable WS_PORT) is {o.Port}; set a TCP port between 1 and 65535 (default 3002).");
        }

        if (string.IsNullOrWhiteSpace(o.Host) || o.Host.AsSpan().IndexOfAny("/ ") >= 0)
        {
            errors.Add($"{S}:Host is '{o.Host}'; set '+' for every address, or a host name or IP address such as '127.0.0.1'.");
        }

        if (string.IsNullOrEmpty(o.Path) || o.Path[0] != '/' || o.Path.Contains(' ', StringComparison.Ordinal))
        {
            errors.Add($"{S}:Path is '{o.Path}'; set a URL path starting with '/' (default '/').");
        }

        if (string.IsNullOrEmpty(o.AuthSecret))
        {
            errors.Add($"{S}:AuthSecret (environment variable AUTH_SECRET) is not set; set it to the dashboard's NextAuth/Auth.js AUTH_SECRET (generate one with 'openssl rand -base64 32').");
        }
        else if (Encoding.UTF8.GetByteCount(o.AuthSecret) < MinSecretBytes)
        {
            errors.Add($"{S}:AuthSecret (environment variable AUTH_SECRET) is {Encoding.UTF8.GetByteCount(o.AuthSecret)} bytes long; it must be at least {MinSecretBytes} bytes (generate one with 'openssl rand -base64 32').");
        }

        if (string.IsNullOrWhiteSpace(o.UserIdClaim))
        {
            errors.Add($"{S}:UserIdClaim is empty; name the token claim that holds the user id (default 'sub').");
        }

        if (string.IsNullOrWhiteSpace(o.GuildsClaim))
        {
            errors.Add($"{S}:GuildsClaim is empty; name the token claim that lists the user's guilds (default 'guilds').");
        }

        if (o.ClockSkew < TimeSpan.Zero || o.ClockSkew > MaxClockSkew)
        {
            errors.Add($"{S}:ClockSkew is {o.ClockSkew}; set a value between 00:00:00 and {MaxClockSkew}.");
        }

        Positive(errors, nameof(o.AuthTimeout), o.AuthTimeout);
        if (o.IdleTimeout != Timeout.InfiniteTimeSpan)
        {
            Positive(errors, nameof(o.IdleTimeout), o.IdleTimeout, " or -00:00:00.001 (infinite) to turn the check off");
        }

        Positive(errors, nameof(o.KeepAliveInterval), o.KeepAliveInterval);
        Positive(errors, nameof(o.LivenessCheckInterval), o.LivenessCheckInterval);
        Positive(errors, nameof(o.SendTimeout), o.SendTimeout);
        Positive(errors, nameof(o.CloseTimeout), o.CloseTimeout);
        Positive(errors, nameof(o.ShutdownTimeout), o.ShutdownTimeout);

        AtLeast(errors, nameof(o.SendQueueCapacity), o.SendQueueCapacity, 1);
        AtLeast(errors, nameof(o.SendQueueMaxBytes), o.SendQueueMaxBytes, 1024);
        AtLeast(errors, nameof(o.DispatchQueueCapacity), o.DispatchQueueCapacity, 1);
        AtLeast(errors, nameof(o.MaxBatchBytes), o.MaxBatchBytes, 0);
        AtLeast(errors, nameof(o.CompressionThresholdBytes), o.CompressionThresholdBytes, 0);
        if (o.EnableCompression && o.HttpListenerEnabled)
        {
            errors.Add($"{S}:EnableCompression is on, but the HttpListener transport cannot negotiate per-message deflate; serve LiveUpdates from the host's ASP.NET Core app (LiveUpdates.AspNetCore: AddLiveUpdates().UseAspNetCore() and app.MapLiveUpdates(...)), or turn EnableCompression off.");
        }
        AtLeast(errors, nameof(o.HistoryCapacity), o.HistoryCapacity, 0);
        Positive(errors, nameof(o.HistoryMaxAge), o.HistoryMaxAge);
        AtLeast(errors, nameof(o.MaxSubscriptionChangesPerSecond), o.MaxSubscriptionChangesPerSecond, 1);
        AtLeast(errors, nameof(o.MaxAuthAttemptsPerMinute), o.MaxAuthAttemptsPerMinute, 1);
        Positive(errors, nameof(o.HealthDispatchLagThreshold), o.HealthDispatchLagThreshold);
        Positive(errors, nameof(o.SlowConsumerTimeout), o.SlowConsumerTimeout);
        AtLeast(errors, nameof(o.MaxGuildsPerClient), o.MaxGuildsPerClient, 1);
        AtLeast(errors, nameof(o.MaxConnections), o.MaxConnections, 1);
        AtLeast(errors, nameof(o.MaxConnectionsPerAddress), o.MaxConnectionsPerAddress, 1);
        AtLeast(errors, nameof(o.MaxConnectionsPerUser), o.MaxConnectionsPerUser, 1);
        Positive(errors, nameof(o.HandshakeTimeout), o.HandshakeTimeout);
        Positive(errors, nameof(o.AccessCheckTimeout), o.AccessCheckTimeout);
        foreach (var origin in o.AllowedOrigins)
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.AbsolutePath != "/" || origin.EndsWith('/'))
            {
                errors.Add($"{S}:AllowedOrigins contains '{origin}'; list origins as scheme://host[:port] with no path or trailing slash, e.g. 'https://dashboard.example.com'.");
            }
        }

        foreach (var proxy in o.TrustedProxies)
        {
            if (!System.Net.IPAddress.TryParse(proxy, out _))
            {
                errors.Add($"{S}:TrustedProxies contains '{proxy}'; list IP addresses such as '172.18.0.2'.");
            }
        }

        foreach (var (category, actions) in o.PermissionCategories)
        {
            if (!LiveUpdates.Internal.Naming.LiveNames.IsValidPlugin(category))
            {
                errors.Add($"{S}:PermissionCategories has the category '{category}'; categories are plugin names: [a-z0-9-], 1 to 32 characters.");
                continue;
            }

            foreach (var action in actions ?? [])
            {
                if (action is null || !action.StartsWith(category + ".", StringComparison.Ordinal) || action.Length == category.Length + 1)
                {
                    errors.Add($"{S}:PermissionCategories:{category} has the action '{action}'; actions are full keys '{category}.<action>', e.g. '{category}.manage_config'.");
                }
            }
        }

        foreach (var (plugin, category) in o.EventCategories)
        {
            if (!LiveUpdates.Internal.Naming.LiveNames.IsValidPlugin(plugin) || string.IsNullOrEmpty(category))
            {
                errors.Add($"{S}:EventCategories maps '{plugin}' to '{category}'; map an event plugin name to a category name.");
            }
            else if (!o.PermissionCategories.ContainsKey(category))
            {
                // A typo here would silently take the plugin out of its own category: fail instead.
                errors.Add($"{S}:EventCategories maps '{plugin}' to '{category}', which is not a category of {S}:PermissionCategories ({(o.PermissionCategories.Count == 0 ? "none is registered" : string.Join(", ", o.PermissionCategories.Keys.Order(StringComparer.Ordinal)))}); name a registered category or register it.");
            }
        }
        AtLeast(errors, nameof(o.MaxInboundMessageBytes), o.MaxInboundMessageBytes, MinInboundMessageBytes);
        AtLeast(errors, nameof(o.ReceiveBufferBytes), o.ReceiveBufferBytes, MinReceiveBufferBytes);
        if (o.ReceiveBufferBytes > o.MaxInboundMessageBytes && o.MaxInboundMessageBytes >= MinInboundMessageBytes)
        {
            errors.Add($"{S}:ReceiveBufferBytes ({o.ReceiveBufferBytes}) is larger than {S}:MaxInboundMessageBytes ({o.MaxInboundMessageBytes}); lower it.");
        }

        if (o.SerializerOptions is null)
        {
            errors.Add($"{S}:SerializerOptions is null; leave the default (JsonSerializerDefaults.Web) or set an instance.");
        }

        if (o.AdditionalAuthSecrets is null)
        {
            errors.Add($"{S}:AdditionalAuthSecrets is null; leave the default (empty) or list the older secrets that are still accepted.");
        }
        else
        {
            for (var i = 0; i < o.AdditionalAuthSecrets.Count; i++)
            {
                var secret = o.AdditionalAuthSecrets[i];
                if (string.IsNullOrEmpty(secret))
                {
                    errors.Add($"{S}:AdditionalAuthSecrets:{i} is empty; remove it, or set a secret of at least {MinSecretBytes} bytes.");
                }
                else if (Encoding.UTF8.GetByteCount(secret) < MinSecretBytes)
                {
                    errors.Add($"{S}:AdditionalAuthSecrets:{i} (environment variables AUTH_SECRET_1..3 add here) is {Encoding.UTF8.GetByteCount(secret)} bytes long; it must be at least {MinSecretBytes} bytes (generate one with 'openssl rand -base64 32').");
                }
            }
        }

        if (o.SessionCookieNames is null || o.SessionCookieNames.Count == 0)
        {
            errors.Add($"{S}:SessionCookieNames is empty; list the dashboard's Auth.js session cookie names (default 'authjs.session-token' and '__Secure-authjs.session-token').");
        }
        else
        {
            for (var i = 0; i < o.SessionCookieNames.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(o.SessionCookieNames[i]))
                {
                    errors.Add($"{S}:SessionCookieNames:{i} is empty; remove it, or name a session cookie such as 'authjs.session-token'.");
                }
            }
        }

        // OptionsValidationException joins the failures with "; ": sentences without their full stop read as one list.
        return errors.ConvertAll(static e => e.TrimEnd('.'));
    }

    private static void Positive(List<string> errors, string name, TimeSpan value, string extra = "")
    {
        if (value <= TimeSpan.Zero)
        {
            errors.Add($"{LiveUpdatesOptions.SectionName}:{name} is {value}; set a positive time span such as 00:00:10{extra}.");
        }
    }

    private static void AtLeast(List<string> errors, string name, int value, int min)
    {
        if (value < min)
        {
            errors.Add($"{LiveUpdatesOptions.SectionName}:{name} is {value}; set a value of at least {min}.");
        }
    }
}
