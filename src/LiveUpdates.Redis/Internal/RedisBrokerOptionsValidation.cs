using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

/// <summary>Checks <see cref="RedisBrokerOptions"/> and turns the configuration string into StackExchange.Redis options.</summary>
internal static partial class RedisBrokerOptionsValidation
{
    public const string UrlVariable = "REDIS_URL";

    /// <summary>The age bound of recovery when neither the broker's options nor the server's set one.</summary>
    public static readonly TimeSpan DefaultHistoryMaxAge = TimeSpan.FromMinutes(5);

    /// <summary>Returns what is wrong (empty when nothing is), each message naming the setting; <paramref name="configuration"/> is set when the string parses.</summary>
    public static List<string> Validate(RedisBrokerOptions options, out ConfigurationOptions? configuration)
    {
        var errors = new List<string>();
        configuration = null;
        if (string.IsNullOrWhiteSpace(options.Configuration))
        {
            errors.Add($"LiveUpdates:Redis:Configuration (environment variable {UrlVariable}) is not set; set it to the Redis server, e.g. 'localhost:6379' or 'redis://localhost:6379', or do not add the Redis broker.");
        }
        else
        {
            try
            {
                configuration = Parse(options.Configuration, options.OperationTimeout);
                if (configuration.EndPoints.Count == 0)
                {
                    errors.Add($"LiveUpdates:Redis:Configuration (environment variable {UrlVariable}) names no server: '{Redact(options.Configuration)}'; e.g. 'localhost:6379'.");
                }
                else if (configuration.ServiceName is { Length: 0 })
                {
                    errors.Add($"LiveUpdates:Redis:Configuration (environment variable {UrlVariable}) has an empty serviceName: for Sentinel name the primary's service, e.g. 'sentinel1:26379,sentinel2:26379,serviceName=mymaster'.");
                }
            }
            catch (Exception ex) when (ex is ArgumentException or FormatException or UriFormatException)
            {
                errors.Add($"LiveUpdates:Redis:Configuration (environment variable {UrlVariable}) is not a Redis configuration string: {ex.Message}");
            }
        }

        if (string.IsNullOrWhiteSpace(options.KeyPrefix) || options.KeyPrefix.AsSpan().IndexOfAny('{', '}') >= 0)
        {
            errors.Add("LiveUpdates:Redis:KeyPrefix must be a non-empty string without '{' or '}' (the guild id is the hash tag); the default is 'liveupdates'.");
        }

        if (options.HistoryCapacity is < 1)
        {
            errors.Add($"LiveUpdates:Redis:HistoryCapacity is {options.HistoryCapacity}; it must be at least 1.");
        }

        if (options.HistoryMaxAge is { } age && age < TimeSpan.FromSeconds(1))
        {
            errors.Add($"LiveUpdates:Redis:HistoryMaxAge is {age}; it must be at least one second.");
        }

        if (options.OutboxCapacity < 1)
        {
            errors.Add($"LiveUpdates:Redis:OutboxCapacity is {options.OutboxCapacity}; it must be at least 1.");
        }

        if (options.PositionCheckInterval < TimeSpan.FromMilliseconds(100))
        {
            errors.Add($"LiveUpdates:Redis:PositionCheckInterval is {options.PositionCheckInterval}; it must be at least 100 ms.");
        }

        if ((options.HistoryMaxAge ?? DefaultHistoryMaxAge) is var maxAge && maxAge <= options.PositionCheckInterval)
        {
            errors.Add($"LiveUpdates:Redis:HistoryMaxAge ({maxAge}) must be longer than LiveUpdates:Redis:PositionCheckInterval ({options.PositionCheckInterval}): a publication pub/sub lost is noticed by the position check, and must still be in the stream then to be repaired.");
        }

        if (options.OperationTimeout < TimeSpan.FromMilliseconds(100))
        {
            errors.Add($"LiveUpdates:Redis:OperationTimeout is {options.OperationTimeout}; it must be at least 100 ms.");
        }

        return errors;
    }

    /// <summary>
    /// A StackExchange.Redis configuration string — one server, several endpoints, or Sentinel with
    /// <c>serviceName=</c> and the sentinels' endpoints — or a <c>redis://[user:password@]host[:port][/db]</c> URL
    /// (<c>rediss://</c> for TLS), the form providers hand out. Set for the broker whatever the string says: no abort on a
    /// failed first connect (it keeps retrying in the background) and fail-fast instead of a backlog (the broker's outbox
    /// keeps order).
    /// </summary>
    /// <exception cref="FormatException">The string is a URL of another scheme or a malformed <c>redis://</c> URL; the message says what is wrong without the password.</exception>
    public static ConfigurationOptions Parse(string value, TimeSpan operationTimeout)
    {
        ConfigurationOptions options;
        var scheme = SchemeOf(value);
        if (scheme is not null && !scheme.Equals("redis", StringComparison.OrdinalIgnoreCase) && !scheme.Equals("rediss", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException($"'{scheme}://' URLs are not understood; use redis://[user:password@]host[:port][/database] (rediss:// for TLS), or a configuration string such as 'host:6379,password=…' (Sentinel: 'sentinel1:26379,sentinel2:26379,serviceName=mymaster').");
        }

        if (scheme is not null)
        {
            var uri = ParseUrl(value);
            options = new ConfigurationOptions();
            options.EndPoints.Add(uri.DnsSafeHost, uri.Port > 0 ? uri.Port : 6379);
            if (uri.UserInfo is { Length: > 0 } userInfo)
            {
                var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
                if (colon < 0)
                {
                    options.Password = Uri.UnescapeDataString(userInfo);
                }
                else
                {
                    if (colon > 0)
                    {
                        options.User = Uri.UnescapeDataString(userInfo[..colon]);
                    }

                    options.Password = Uri.UnescapeDataString(userInfo[(colon + 1)..]);
                }
            }

            if (uri.Scheme == "rediss")
            {
                options.Ssl = true;
                options.SslHost = uri.DnsSafeHost;
            }

            if (uri.AbsolutePath.Trim('/') is { Length: > 0 } db)
            {
                if (!int.TryParse(db, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var database))
                {
                    throw new FormatException($"the URL's path '/{db}' must be a database number, e.g. redis://host:6379/0.");
                }

                options.DefaultDatabase = database;
            }

            options.AsyncTimeout = (int)operationTimeout.TotalMilliseconds;
        }
        else
        {
            options = ConfigurationOptions.Parse(value);
            if (!value.Contains("asyncTimeout", StringComparison.OrdinalIgnoreCase))
            {
                options.AsyncTimeout = (int)operationTimeout.TotalMilliseconds;
            }
        }

        options.AbortOnConnectFail = false;
        options.ChannelPrefix = default; // channels are named by KeyPrefix; a channel prefix would apply to SUBSCRIBE but not to the scripts' PUBLISH
        options.BacklogPolicy = BacklogPolicy.FailFast;
        options.ClientName ??= "liveupdates";
        return options;
    }

    /// <summary>Hides the password of a URL (<c>user:***@</c>) or of a configuration string (<c>password=***</c>), for messages.</summary>
    public static string Redact(string value) =>
        PasswordInUrl().Replace(PasswordOption().Replace(value, "${key}***"), "${user}***@");

    /// <summary>The scheme of a <c>scheme://…</c> string, or <see langword="null"/> for a configuration string.</summary>
    private static string? SchemeOf(string value)
    {
        var separator = value.IndexOf("://", StringComparison.Ordinal);
        return separator > 0 && value.AsSpan(0, separator).IndexOfAnyExcept(SchemeCharacters) < 0 && char.IsAsciiLetter(value[0]) ? value[..separator] : null;
    }

    private static readonly System.Buffers.SearchValues<char> SchemeCharacters =
        System.Buffers.SearchValues.Create("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");

    private static Uri ParseUrl(string value)
    {
        const string Form = "expected redis://[user:password@]host[:port][/database] (rediss:// for TLS)";
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri))
        {
            throw new FormatException($"'{Redact(value)}' is not a valid URL; {Form}. Several endpoints or Sentinel need the configuration string form: 'host1:6379,host2:6379' or 'sentinel1:26379,sentinel2:26379,serviceName=mymaster'.");
        }

        if (uri.DnsSafeHost.Length == 0)
        {
            throw new FormatException($"'{Redact(value)}' names no host; {Form}.");
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            throw new FormatException($"'{Redact(value)}' has query parameters or a fragment, which the URL form does not take; {Form}, or a configuration string for further settings, e.g. 'host:6379,password=…,ssl=true'.");
        }

        return uri;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<key>(?:^|,)\s*password\s*=)[^,]*", System.Text.RegularExpressions.RegexOptions.IgnoreCase)]
    private static partial System.Text.RegularExpressions.Regex PasswordOption();

    [System.Text.RegularExpressions.GeneratedRegex(@"(?<user>://[^:/@]*:)[^@/]*@")]
    private static partial System.Text.RegularExpressions.Regex PasswordInUrl();
}
