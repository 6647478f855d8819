using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Reflection.Metadata;
using System.Xml.Linq;

namespace LiveUpdates.PackageTests;

/// <summary>
/// Packs every project under <c>src/</c> (found on disk, so a package added later is included) into a local folder
/// feed, checks what each package holds, then restores, builds and runs a small consumer that references only those
/// packages (and nuget.org for their dependencies) and serves one event to a real WebSocket client; and a web consumer
/// that maps the ASP.NET Core endpoint and serves one event over <c>wss://</c>.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PackagesInstallTests
{
    private static readonly TimeSpan PackLimit = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ConsumerLimit = TimeSpan.FromMinutes(5);

    private string _root = null!;
    private string _work = null!;
    private string _feed = null!;
    private string _version = null!;
    private List<string> _projects = null!;
    private string _packOutput = "";
    private int _packExitCode;

    [OneTimeSetUp]
    public async Task PackEverySourceProject()
    {
        _root = FindRepositoryRoot();
        _work = Directory.CreateTempSubdirectory("liveupdates-packages-").FullName;
        _feed = Path.Combine(_work, "feed");
        // A version no earlier run used, so the consumer never restores a stale copy from the global packages folder.
        _version = $"0.1.0-check.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        _projects = [.. Directory.GetDirectories(Path.Combine(_root, "src"))
            .SelectMany(d => Directory.GetFiles(d, "*.csproj"))
            .Order(StringComparer.Ordinal)];

        // One MSBuild invocation packs them all (builds are incremental: nothing is recompiled after the suite's build).
        var traversal = Path.Combine(_work, "pack.proj");
        File.WriteAllText(traversal, new XDocument(new XElement("Project",
            new XElement("ItemGroup", _projects.Select(p => new XElement("PackProject", new XAttribute("Include", p)))),
            new XElement("Target", new XAttribute("Name", "Restore"),
                new XElement("MSBuild", new XAttribute("Projects", "@(PackProject)"), new XAttribute("Targets", "Restore"))),
            new XElement("Target", new XAttribute("Name", "Pack"),
                new XElement("MSBuild", new XAttribute("Projects", "@(PackProject)"), new XAttribute("Targets", "Pack"),
                    new XAttribute("Properties", $"Configuration=Release;PackageVersion={_version};PackageOutputPath={_feed}"))))).ToString());
        var (exitCode, output, elapsed) = await Dotnet.RunAsync(_work, PackLimit, "msbuild", traversal, "-restore", "-t:Pack", "-nologo", "-v:m", "-m:1");
        (_packExitCode, _packOutput) = (exitCode, output);
        TestContext.Progress.WriteLine($"packed {_projects.Count} projects as {_version} in {elapsed.TotalSeconds:F1} s");
    }

    [OneTimeTearDown]
    public void RemoveTheCheckVersion()
    {
        // Restoring the consumer put this run's version of each package into the global packages folder: take it out.
        var packages = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var project in _projects ?? [])
        {
            var id = Path.Combine(packages, Path.GetFileNameWithoutExtension(project).ToLowerInvariant());
            var folder = Path.Combine(id, _version.ToLowerInvariant());
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }

            if (Directory.Exists(id) && !Directory.EnumerateFileSystemEntries(id).Any())
            {
                Directory.Delete(id);
            }
        }

        if (_work is not null && Directory.Exists(_work))
        {
            Directory.Delete(_work, recursive: true);
        }
    }

    [Test]
    public void EverySourceProject_Packs_WithReadmeLicenceDocsAndSymbols()
    {
        Assert.That(_packExitCode, Is.Zero, _packOutput);
        Assert.That(_projects, Is.Not.Empty);

        foreach (var project in _projects)
        {
            var id = Path.GetFileNameWithoutExtension(project);
            var package = Path.Combine(_feed, $"{id}.{_version}.nupkg");
            var symbols = Path.Combine(_feed, $"{id}.{_version}.snupkg");
            Assert.That(File.Exists(package), Is.True, $"{id}: no package in the feed\n{_packOutput}");
            Assert.That(File.Exists(symbols), Is.True, $"{id}: no symbol package");

            using var zip = ZipFile.OpenRead(package);
            var entries = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
            XNamespace ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Multiple(() =>
            {
                Assert.That(metadata.Element(ns + "id")?.Value, Is.EqualTo(id));
                Assert.That(metadata.Element(ns + "description")?.Value, Is.Not.Empty, $"{id}: description");
                Assert.That(metadata.Element(ns + "tags")?.Value, Does.Contain("websocket"), $"{id}: tags");
                Assert.That(metadata.Element(ns + "license")?.Attribute("type")?.Value, Is.EqualTo("expression"), $"{id}: licence expression");
                Assert.That(metadata.Element(ns + "readme")?.Value, Is.EqualTo("README.md"), $"{id}: readme");
                Assert.That(entries, Does.Contain("README.md"), $"{id}: README.md in the package");
                // Its own short readme (src/<project>/PACKAGE.md), not the repository's README.
                Assert.That(ReadEntry(zip, "README.md"), Is.EqualTo(File.ReadAllText(Path.Combine(Path.GetDirectoryName(project)!, "PACKAGE.md"))).And.StartWith($"# {id}\n"), $"{id}: its own readme");
                Assert.That(entries, Does.Contain($"lib/net10.0/{id}.dll").Or.Contain($"lib/net10.0/{AssemblyName(zip, id)}.dll"), $"{id}: the assembly");
                Assert.That(entries.Count(e => e.StartsWith("lib/net10.0/", StringComparison.Ordinal) && e.EndsWith(".xml", StringComparison.Ordinal)), Is.EqualTo(1), $"{id}: XML docs");
                foreach (var dependency in metadata.Descendants(ns + "dependency").Where(d => d.Attribute("id")!.Value.StartsWith("LiveUpdates.", StringComparison.Ordinal)))
                {
                    Assert.That(dependency.Attribute("version")?.Value, Is.EqualTo(_version), $"{id}: depends on {dependency.Attribute("id")!.Value} of the same build");
                }
            });

            using var symbolZip = ZipFile.OpenRead(symbols);
            var pdb = symbolZip.Entries.Single(e => e.FullName.EndsWith(".pdb", StringComparison.Ordinal));
            Assert.That(EmbeddedSourceCount(pdb), Is.GreaterThan(0), $"{id}: sources embedded in {pdb.FullName}");
        }
    }

    [TestCase("LiveUpdates.Core", "MongoDB.", "StackExchange.Redis", "Microsoft.Extensions.Hosting", "Microsoft.Extensions.DependencyInjection")]
    [TestCase("LiveUpdates.Hosting", "MongoDB.", "StackExchange.Redis")]
    [TestCase("LiveUpdates.Redis", "MongoDB.")]
    [TestCase("LiveUpdates.MongoDB", "StackExchange.Redis")]
    public void Package_DoesNotBringWhatOnlyAnOptionalPartNeeds(string id, params string[] forbidden)
    {
        Assert.That(_packExitCode, Is.Zero, _packOutput);
        using var zip = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.nupkg"));
        var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
        var dependencies = nuspec.Descendants(nuspec.Root!.Name.Namespace + "dependency").Select(d => d.Attribute("id")!.Value).ToList();

        Assert.That(dependencies.Where(d => forbidden.Any(f => d.StartsWith(f, StringComparison.Ordinal))), Is.Empty, $"{id} depends on {string.Join(", ", dependencies)}");
    }

    [Test]
    public async Task Consumer_FromTheLocalFeedOnly_ServesAnEventToARealClient()
    {
        Assert.That(_packExitCode, Is.Zero, _packOutput);

        // Every package that runs without ASP.NET Core: the shared framework would supply every Microsoft.Extensions
        // assembly and hide a dependency a package forgot to declare.
        var consumer = WriteConsumer("Consumer", PackageIds().Where(id => !NeedsAspNetCore(id)));
        var (exitCode, output, elapsed) = await Dotnet.RunAsync(consumer, ConsumerLimit, DeploymentVariables, "run", "-c", "Release", "--", FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        TestContext.Progress.WriteLine($"consumer restored, built and ran in {elapsed.TotalSeconds:F1} s");

        Assert.That(exitCode, Is.Zero, output);
        Assert.That(output, Does.Contain("consumer: ok"));
    }

    [Test]
    public async Task WebConsumer_MapsTheEndpoint_AndServesAnEventOverWss()
    {
        Assert.That(_packExitCode, Is.Zero, _packOutput);
        var web = PackageIds().Where(NeedsAspNetCore).ToList();
        Assert.That(web, Is.EqualTo(AspNetCorePackages), "the packages that need the ASP.NET Core shared framework");

        // Only the transport package: Core and Hosting must come with it as its dependencies.
        var consumer = WriteConsumer("WebConsumer", web);
        var (exitCode, output, elapsed) = await Dotnet.RunAsync(consumer, ConsumerLimit, DeploymentVariables, "run", "-c", "Release");
        TestContext.Progress.WriteLine($"web consumer restored, built and ran in {elapsed.TotalSeconds:F1} s");

        Assert.That(exitCode, Is.Zero, output);
        Assert.That(output, Does.Contain("web consumer: ok"));
    }

    [Test]
    public void OnlyTheAspNetCorePackage_NeedsTheAspNetCoreSharedFramework()
    {
        Assert.That(_packExitCode, Is.Zero, _packOutput);

        Assert.That(PackageIds().Where(NeedsAspNetCore), Is.EqualTo(AspNetCorePackages), "Core, Hosting and the optional parts stay free of ASP.NET Core");
    }

    // The deployment variables override configuration in the consumers as in a bot: a WS_PORT or LIVEUPDATES_TOKEN_KEY of this
    // machine must not change what they check.
    private static readonly string[] AspNetCorePackages = ["LiveUpdates.AspNetCore"];

    private static readonly string[] DeploymentVariables = ["WS_PORT", "LIVEUPDATES_TOKEN_KEY", "AUTH_SECRET", "AUTH_SECRET_1", "AUTH_SECRET_2", "AUTH_SECRET_3", "MONGODB_URI", "MONGODB_DATABASE", "REDIS_URL"];

    private IEnumerable<string> PackageIds() =>
        Directory.GetFiles(_feed, "*.nupkg")
            .Select(p => Path.GetFileName(p)[..^($".{_version}.nupkg".Length)])
            .Order(StringComparer.Ordinal);

    /// <summary>Whether the package declares a framework reference to the ASP.NET Core shared framework.</summary>
    private bool NeedsAspNetCore(string id)
    {
        using var zip = ZipFile.OpenRead(Path.Combine(_feed, $"{id}.{_version}.nupkg"));
        var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
        return nuspec.Descendants(nuspec.Root!.Name.Namespace + "frameworkReference").Any(f => f.Attribute("name")?.Value == "Microsoft.AspNetCore.App");
    }

    /// <summary>Writes the consumer <paramref name="name"/> (Program.cs and a project from its template) referencing <paramref name="packageIds"/>; returns its folder.</summary>
    private string WriteConsumer(string name, IEnumerable<string> packageIds)
    {
        var consumer = Path.Combine(_work, name.ToLowerInvariant());
        Directory.CreateDirectory(consumer);

        // Nothing of the repository applies to it: no Directory.*.props above, its own nuget.config.
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props" })
        {
            File.WriteAllText(Path.Combine(consumer, file), "<Project />");
        }

        var source = Path.Combine(_root, "tests", "LiveUpdates.PackageTests", name);
        File.Copy(Path.Combine(source, "Program.cs"), Path.Combine(consumer, "Program.cs"));
        var references = string.Join(Environment.NewLine + "    ", packageIds.Select(id => $"<PackageReference Include=\"{id}\" Version=\"{_version}\" />"));
        File.WriteAllText(Path.Combine(consumer, $"{name}.csproj"), File.ReadAllText(Path.Combine(source, $"{name}.csproj.template"))
            .Replace("<!--PACKAGES-->", references, StringComparison.Ordinal)
            .Replace("$EXTENSIONS_VERSION$", CentralVersion("Microsoft.Extensions.Options"), StringComparison.Ordinal));
        // LiveUpdates.* only from the local feed (never a same-named package from nuget.org), everything else from nuget.org.
        File.WriteAllText(Path.Combine(consumer, "nuget.config"), new XDocument(new XElement("configuration",
            new XElement("packageSources",
                new XElement("clear"),
                new XElement("add", new XAttribute("key", "local"), new XAttribute("value", _feed)),
                new XElement("add", new XAttribute("key", "nuget.org"), new XAttribute("value", NuGetOrg()))),
            new XElement("packageSourceMapping",
                new XElement("packageSource", new XAttribute("key", "local"), new XElement("package", new XAttribute("pattern", "LiveUpdates.*"))),
                new XElement("packageSource", new XAttribute("key", "nuget.org"), new XElement("package", new XAttribute("pattern", "*")))))).ToString());
        return consumer;
    }

    private static string AssemblyName(ZipArchive zip, string id) =>
        zip.Entries.Where(e => e.FullName.StartsWith("lib/net10.0/", StringComparison.Ordinal) && e.FullName.EndsWith(".dll", StringComparison.Ordinal))
            .Select(e => Path.GetFileNameWithoutExtension(e.Name)).FirstOrDefault() ?? id;

    private static int EmbeddedSourceCount(ZipArchiveEntry pdb)
    {
        var embeddedSource = new Guid("0E8A571B-6926-466E-B4AD-8AB04611F5FE");
        using var stream = new MemoryStream();
        using (var entry = pdb.Open())
        {
            entry.CopyTo(stream);
        }

        stream.Position = 0;
        using var provider = MetadataReaderProvider.FromPortablePdbStream(stream);
        var reader = provider.GetMetadataReader();
        return reader.CustomDebugInformation.Count(h => reader.GetGuid(reader.GetCustomDebugInformation(h).Kind) == embeddedSource);
    }

    private string CentralVersion(string id) =>
        XDocument.Load(Path.Combine(_root, "Directory.Packages.props")).Descendants("PackageVersion")
            .Single(e => e.Attribute("Include")?.Value == id).Attribute("Version")!.Value;

    /// <summary>The nuget.org source as the repository's nuget.config names it.</summary>
    private string NuGetOrg() =>
        XDocument.Load(Path.Combine(_root, "nuget.config")).Descendants("add")
            .Single(e => e.Attribute("key")?.Value == "nuget.org").Attribute("value")!.Value;

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No LiveUpdates.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>A TCP port that was free a moment ago (HttpListener cannot bind port 0).</summary>
    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string ReadEntry(ZipArchive zip, string name)
    {
        using var reader = new StreamReader(zip.GetEntry(name)!.Open());
        return reader.ReadToEnd();
    }
}
