using LiveUpdates.SampleHost.Data;
using LiveUpdates.SampleHost.Plugins.Moderation;
using LiveUpdates.SampleHost.Plugins.Modmail;
using Microsoft.Extensions.Options;

namespace LiveUpdates.SampleHost.Bot;

/// <summary>
/// The "bot" side of the sample: where a real bot reacts to Discord gateway events, this service simulates
/// members whose messages trip auto-mod rules (an infraction, raised from the service layer as in the seed's
/// section 5.4) and, now and then, a member who DMs the bot (a modmail conversation). Nothing here knows about
/// WebSockets: the services it calls write, then broadcast.
/// </summary>
public sealed partial class AutoModBot(
    IOptions<SampleBotOptions> options,
    SampleDatabase db,
    InfractionService infractions,
    ModmailService modmail,
    TimeProvider time,
    ILogger<AutoModBot> logger) : BackgroundService
{
    public const string BotUserId = "100000000000000099";

    private static readonly (string Id, string Name)[] Members =
    [
        ("200000000000000001", "ada"), ("200000000000000002", "grace"), ("200000000000000003", "linus"),
        ("200000000000000004", "ken"), ("200000000000000005", "barbara"),
    ];

    private static readonly string[] DirectMessages =
    [
        "Hi, I was muted and I don't know why.", "How do I get the verified role?", "Someone is spamming invites in #general.",
        "Can I appeal my warning?",
    ];

    private long _tick;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Value.AutoModInterval;
        if (interval <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval, time);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            try
            {
                Tick();
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                LogTickFailed(logger, ex);
            }
        }
    }

    /// <summary>One simulated gateway event per guild: a member message checked against the enabled rules.</summary>
    public void Tick()
    {
        var tick = Interlocked.Increment(ref _tick);
        foreach (var guildId in SampleHostApp.DevGuildIds)
        {
            var member = Members[tick % Members.Length];
            var rules = db.Rules.List(guildId).Where(r => r.Enabled).ToList();
            if (rules.Count > 0)
            {
                var rule = rules[(int)(tick % rules.Count)];
                infractions.Create(guildId, new InfractionDraft(rule.Action, member.Id, member.Name, BotUserId, $"Auto-mod: {rule.Name}", rule.Points), source: "automod", rule.Id);
            }

            var every = options.Value.ModmailEvery;
            if (every > 0 && tick % every == 0 && modmail.List(guildId, includeClosed: false).Count < 5)
            {
                modmail.Open(guildId, member.Id, member.Name, DirectMessages[tick / every % DirectMessages.Length]);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The simulated bot's tick failed.")]
    private static partial void LogTickFailed(ILogger logger, Exception exception);
}
