using StackExchange.Redis;

namespace LiveUpdates.Redis.Internal;

/// <summary>Checks <see cref="RedisBrokerOptions"/> and turns the configuration string into StackExchange.Redis options.</summary>
internal static class RedisBrokerOptionsValidation
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
                    errors.Add($"LiveUpdates:Redis:Configuration (environment variable {UrlVariable}) names no server: '{options.Configuration}'; e.g. 'localhost:6379'.");
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
    /// A StackExchange.Redis configuration string, or a <c>redis://[user:password@]host[:port][/db]</c> URL
    /// (<c>rediss://</c> for TLS). Set for the broker whatever the string says: no abort on a failed first connect
    /// (it keeps retrying in the background) and fail-fast instead of a backlog (the broker's outbox keeps order).
    /// </summary>
    public static ConfigurationOptions Parse(string value, TimeSpan operationTimeout)
    {
        ConfigurationOptions options;
        if (Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "redis" or "rediss")
        {
            options = new ConfigurationOptions();
            options.EndPoints.Add(uri.Host, uri.Port > 0 ? uri.Port : 6379);
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
                options.SslHost = uri.Host;
            }

            if (uri.AbsolutePath.Trim('/') is { Length: > 0 } db)
            {
                options.DefaultDatabase = int.Parse(db, System.Globalization.CultureInfo.InvariantCulture);
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
}
