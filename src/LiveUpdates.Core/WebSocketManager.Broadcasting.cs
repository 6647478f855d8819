using System.Globalization;
using LiveUpdates.Brokers;
using LiveUpdates.Internal.Dispatch;
using LiveUpdates.Internal.Naming;
using LiveUpdates.Internal.Protocol;

namespace LiveUpdates;

/// <summary>The broadcast side of the server: fire-and-forget broadcasts, confirmed ones, and Socket.IO-style rooms.</summary>
public sealed partial class WebSocketManager
{
    /// <inheritdoc/>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public void Broadcast(string guildId, string eventName, object? data = null)
    {
        LiveNames.ThrowIfInvalidGuildId(guildId);
        LiveNames.ThrowIfInvalidEventName(eventName);
        if (Volatile.Read(ref _state) != Running)
        {
            Log.NotRunning(_logger, eventName, guildId);
            return;
        }

        var payload = EnvelopeSerializer.SerializeData(eventName, data, _options.SerializerOptions);
        _metrics.EventsBroadcast.Add(1);
        _dispatcher.Post(BrokerMessage.Event(guildId, eventName, payload, _time.GetUtcNow().ToUnixTimeMilliseconds()));
    }

    /// <inheritdoc/>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public void Broadcast(ulong guildId, string eventName, object? data = null) =>
        Broadcast(guildId.ToString(CultureInfo.InvariantCulture), eventName, data);

    /// <inheritdoc/>
    public IRoomEmitter To(string room) => new RoomEmitter(this, LiveNames.GuildIdFromRoom(room));

    /// <inheritdoc/>
    public IRoomEmitter To(ulong guildId) => new RoomEmitter(this, guildId.ToString(CultureInfo.InvariantCulture));

    /// <inheritdoc/>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public Task<StreamPosition> BroadcastAsync(string guildId, string eventName, object? data = null, CancellationToken cancellationToken = default)
    {
        LiveNames.ThrowIfInvalidGuildId(guildId);
        LiveNames.ThrowIfInvalidEventName(eventName);
        if (Volatile.Read(ref _state) != Running)
        {
            return Task.FromException<StreamPosition>(new InvalidOperationException("The LiveUpdates server is not running: the event was not published."));
        }

        var payload = EnvelopeSerializer.SerializeData(eventName, data, _options.SerializerOptions);
        _metrics.EventsBroadcast.Add(1);
        var confirmation = new BroadcastConfirmation();
        _dispatcher.Post(BrokerMessage.Event(guildId, eventName, payload, _time.GetUtcNow().ToUnixTimeMilliseconds()), confirmation);
        return cancellationToken.CanBeCanceled ? confirmation.Completion.Task.WaitAsync(cancellationToken) : confirmation.Completion.Task;
    }

    /// <inheritdoc/>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the guild id's type (string or ulong), never in which arguments may be left out.")]
    public Task<StreamPosition> BroadcastAsync(ulong guildId, string eventName, object? data = null, CancellationToken cancellationToken = default) =>
        BroadcastAsync(guildId.ToString(CultureInfo.InvariantCulture), eventName, data, cancellationToken);

    private sealed class RoomEmitter(WebSocketManager manager, string guildId) : IRoomEmitter
    {
        public void Emit(string eventName, object? data = null) => manager.Broadcast(guildId, eventName, data);

        public Task<StreamPosition> EmitAsync(string eventName, object? data = null, CancellationToken cancellationToken = default) =>
            manager.BroadcastAsync(guildId, eventName, data, cancellationToken);
    }
}
