using Microsoft.Extensions.Options;

namespace LiveUpdates.Redis.Internal;

/// <summary>Applies <c>REDIS_URL</c>, takes the history bounds from <see cref="LiveUpdatesOptions"/> where none is set, and checks the broker's settings at start-up.</summary>
internal sealed class RedisOptionsSetup : IConfigureOptions<RedisBrokerOptions>, IPostConfigureOptions<RedisBrokerOptions>, IValidateOptions<RedisBrokerOptions>
{
    private readonly Func<string, string?> _getVariable;
    private readonly IOptions<LiveUpdatesOptions>? _server;

    public RedisOptionsSetup(IOptions<LiveUpdatesOptions> server)
        : this(Environment.GetEnvironmentVariable, server)
    {
    }

    internal RedisOptionsSetup(Func<string, string?> getVariable, IOptions<LiveUpdatesOptions>? server)
    {
        _getVariable = getVariable;
        _server = server;
    }

    public void Configure(RedisBrokerOptions options)
    {
        if (_getVariable(RedisBrokerOptionsValidation.UrlVariable) is { Length: > 0 } url)
        {
            options.Configuration = url;
        }
    }

    public void PostConfigure(string? name, RedisBrokerOptions options)
    {
        if (_server?.Value is { } server)
        {
            options.HistoryCapacity ??= server.HistoryCapacity;
            options.HistoryMaxAge ??= server.HistoryMaxAge;
            options.ShutdownTimeout ??= server.ShutdownTimeout;
        }
    }

    public ValidateOptionsResult Validate(string? name, RedisBrokerOptions options)
    {
        var errors = RedisBrokerOptionsValidation.Validate(options, out _);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
