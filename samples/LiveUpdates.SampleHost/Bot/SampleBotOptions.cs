namespace LiveUpdates.SampleHost.Bot;

/// <summary>Settings of the simulated bot (configuration section <c>SampleBot</c>).</summary>
public sealed class SampleBotOptions
{
    public const string SectionName = "SampleBot";

    /// <summary>How often a simulated member trips an auto-mod rule. <c>00:00:00</c> turns the simulation off.</summary>
    /// <value>15 seconds.</value>
    public TimeSpan AutoModInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Every how many auto-mod ticks a simulated member DMs the bot (opening a modmail conversation); 0 never.</summary>
    /// <value>4.</value>
    public int ModmailEvery { get; set; } = 4;

    /// <summary>Whether the dev guilds start with a few rules, tags and a conversation, so the page is not empty.</summary>
    /// <value><see langword="true"/>.</value>
    public bool Seed { get; set; } = true;
}
