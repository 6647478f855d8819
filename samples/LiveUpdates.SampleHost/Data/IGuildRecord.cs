namespace LiveUpdates.SampleHost.Data;

/// <summary>A record of the sample database: it has an id, unique within its guild and table.</summary>
public interface IGuildRecord
{
    string Id { get; }
}
