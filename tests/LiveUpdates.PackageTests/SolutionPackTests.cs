namespace LiveUpdates.PackageTests;

/// <summary>Packing the whole solution (as a user does with <c>dotnet pack</c>) packs the libraries and says nothing about the rest.</summary>
[TestFixture]
public sealed class SolutionPackTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(2);

    [Test]
    public async Task SampleHost_IsNotPackable_AndDoesNotWarnWhenTheSolutionIsPacked()
    {
        var root = FindRepositoryRoot();
        var project = Path.Combine(root, "samples", "LiveUpdates.SampleHost", "LiveUpdates.SampleHost.csproj");

        // The Web SDK sets WarnOnPackingNonPackableProject, so `dotnet pack LiveUpdates.sln` printed
        // "This project cannot be packaged because packaging has been disabled" for the sample.
        var (exitCode, output, _) = await Dotnet.RunAsync(root, Limit, "msbuild", project, "-nologo", "-getProperty:IsPackable", "-getProperty:WarnOnPackingNonPackableProject");

        Assert.That(exitCode, Is.Zero, output);
        Assert.That(output, Does.Contain("\"IsPackable\": \"false\""), output);
        Assert.That(output, Does.Not.Contain("\"WarnOnPackingNonPackableProject\": \"true\""), output);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (LiveUpdates.sln) was not found above " + AppContext.BaseDirectory);
    }
}
