using System.Globalization;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using LiveUpdates.SampleHost;
using YamlDotNet.RepresentationModel;

namespace LiveUpdates.Tests.Deploy;

/// <summary>
/// samples/deploy checked without a Docker engine: the files parse, every variable they give the bot is one the host
/// reads, the image runs the sample's own dll as a non-root user, and Traefik sends the WebSocket host to port 3002
/// without the deadlines that cut long-lived connections.
/// </summary>
[TestFixture]
public sealed partial class DeploymentExampleTests
{
    private static readonly string Deploy = Path.Combine(RepositoryRoot(), "samples", "deploy");

    [TestCase("docker-compose.yml")]
    [TestCase("traefik/traefik.yml")]
    [TestCase("traefik/dynamic.yml")]
    public void YamlFile_Parses_ToOneMapping(string file) =>
        Assert.That(Load(file), Is.InstanceOf<YamlMappingNode>());

    [Test]
    public void Compose_GivesTheBotItsVariables_AndOnlyVariablesTheHostReads()
    {
        var bot = Service("bot");
        var environment = ((YamlMappingNode)bot["environment"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();

        Assert.That(environment, Is.SupersetOf(new[] { "WS_PORT", "AUTH_SECRET", "MONGODB_URI", "REDIS_URL" }));
        Assert.Multiple(() =>
        {
            foreach (var name in environment)
            {
                Assert.That(IsReadByTheHost(name), Is.True, $"the bot is given {name}, which nothing in src/ or the sample host reads");
            }
        });
    }

    [Test]
    public void Compose_Dashboard_GetsNextPublicWsUrl_WhichTheNextJsSampleReads()
    {
        var build = (YamlMappingNode)Service("dashboard")["build"];
        var args = ((YamlMappingNode)build["args"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value);
        var provider = File.ReadAllText(Path.Combine(RepositoryRoot(), "samples", "nextjs-dashboard", "lib", "session.ts"));

        Assert.That(args, Does.Contain("NEXT_PUBLIC_WS_URL"));
        Assert.That(provider, Does.Contain("process.env.NEXT_PUBLIC_WS_URL"));
    }

    [Test]
    public void Compose_WiresTheBotRedisOptionalMongoAndTraefik()
    {
        var bot = Service("bot");
        var build = (YamlMappingNode)bot["build"];
        var context = Path.GetFullPath(Path.Combine(Deploy, Scalar(build, "context")));
        var traefik = Service("traefik");
        var traefikAddress = Scalar((YamlMappingNode)((YamlMappingNode)traefik["networks"])["edge"], "ipv4_address");
        var environment = (YamlMappingNode)bot["environment"];

        Assert.Multiple(() =>
        {
            Assert.That(context, Is.EqualTo(RepositoryRoot()), "the image is built from the repository root");
            Assert.That(File.Exists(Path.Combine(context, Scalar(build, "dockerfile"))), Is.True, "the Dockerfile it names exists");
            Assert.That(((YamlSequenceNode)bot["expose"]).Select(n => ((YamlScalarNode)n).Value), Does.Contain("3002"));
            Assert.That(Scalar(environment, "WS_PORT"), Is.EqualTo("3002"));
            Assert.That(Scalar(environment, "REDIS_URL"), Does.StartWith("redis://redis:"), "Redis is the compose service");
            Assert.That(Service("redis").Children.ContainsKey("image"), Is.True);
            Assert.That(((YamlSequenceNode)Service("mongo")["profiles"]).Select(n => ((YamlScalarNode)n).Value), Is.EqualTo(new[] { "mongo" }), "MongoDB only with --profile mongo");
            Assert.That(Scalar(environment, "LiveUpdates__TrustedProxies__0"), Is.EqualTo(traefikAddress), "the bot trusts X-Forwarded-For from Traefik's fixed address");
            foreach (var volume in ((YamlSequenceNode)traefik["volumes"]).Select(n => ((YamlScalarNode)n).Value!).Where(v => v.StartsWith("./", StringComparison.Ordinal)))
            {
                Assert.That(File.Exists(Path.Combine(Deploy, volume.Split(':')[0])), Is.True, $"Traefik mounts {volume}");
            }
        });
    }

    [Test]
    public void Compose_RedisAndMongo_ShareNoNetworkWithTheDashboardOrTraefik_AndTheirNetworkIsInternal()
    {
        // They have no credentials in this file (issue 20, item 6): only the bot may reach them.
        static HashSet<string> NetworksOf(string service) => Service(service)["networks"] switch
        {
            YamlSequenceNode list => [.. list.Select(n => ((YamlScalarNode)n).Value!)],
            YamlMappingNode map => [.. map.Children.Keys.Select(k => ((YamlScalarNode)k).Value!)],
            _ => [],
        };

        var networks = (YamlMappingNode)Load("docker-compose.yml")["networks"];
        Assert.Multiple(() =>
        {
            foreach (var store in new[] { "redis", "mongo" })
            {
                foreach (var other in new[] { "dashboard", "traefik" })
                {
                    Assert.That(NetworksOf(store).Intersect(NetworksOf(other)), Is.Empty, $"{store} shares a network with {other}");
                }

                Assert.That(NetworksOf(store).Intersect(NetworksOf("bot")), Is.Not.Empty, $"the bot reaches {store}");
                foreach (var network in NetworksOf(store))
                {
                    Assert.That(Scalar((YamlMappingNode)networks[network], "internal"), Is.EqualTo("true"), $"{store}'s network {network} is internal");
                }
            }
        });
    }

    [Test]
    public void Traefik_RoutesTheWebSocketHostToPort3002()
    {
        var http = (YamlMappingNode)Load("traefik/dynamic.yml")["http"];
        var router = (YamlMappingNode)((YamlMappingNode)http["routers"]).Children.Values.Single();
        var services = (YamlMappingNode)http["services"];
        var service = (YamlMappingNode)((YamlMappingNode)services[Scalar(router, "service")])["loadBalancer"];
        var url = new Uri(Scalar((YamlMappingNode)((YamlSequenceNode)service["servers"]).Single(), "url"));
        var transports = (YamlMappingNode)http["serversTransports"];

        Assert.Multiple(() =>
        {
            Assert.That(Scalar(router, "rule"), Does.Match(@"^Host\(`[a-z0-9.-]+`\)$"));
            Assert.That((url.Host, url.Port), Is.EqualTo(("bot", 3002)));
            Assert.That(transports.Children.ContainsKey(Scalar(service, "serversTransport")), Is.True, "the servers transport it names exists");
        });
    }

    [Test]
    public void Traefik_EntryPoint_HasNoReadDeadline_AndOutlastsTheClientsPing()
    {
        var websecure = (YamlMappingNode)((YamlMappingNode)Load("traefik/traefik.yml")["entryPoints"])["websecure"];
        var timeouts = (YamlMappingNode)((YamlMappingNode)websecure["transport"])["respondingTimeouts"];
        var pingInterval = new LiveUpdatesOptions().IdleTimeout / 3; // what the server tells clients in `connected`

        Assert.Multiple(() =>
        {
            Assert.That(Duration(Scalar(timeouts, "readTimeout")), Is.EqualTo(TimeSpan.Zero), "0 = none: a WebSocket is one long request");
            Assert.That(Duration(Scalar(timeouts, "writeTimeout")), Is.EqualTo(TimeSpan.Zero));
            Assert.That(Duration(Scalar(timeouts, "idleTimeout")), Is.GreaterThan(pingInterval * 2));
        });
    }

    [Test]
    public void Dockerfile_BuildsWithTheSdk_RunsTheSampleDllOnAspNet_AsNonRoot()
    {
        var lines = DockerfileInstructions();
        var from = lines.Where(l => l.Instruction == "FROM").Select(l => l.Arguments).ToList();
        var entryPoint = JsonSerializer.Deserialize<string[]>(lines.Single(l => l.Instruction == "ENTRYPOINT").Arguments);
        var exposed = lines.Where(l => l.Instruction == "EXPOSE").SelectMany(l => l.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList();
        var finalStage = lines.SkipWhile(l => l.Arguments != from[^1]).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(from, Has.Count.EqualTo(2), "multi-stage");
            Assert.That(from[0], Does.StartWith("mcr.microsoft.com/dotnet/sdk:10.0 "));
            Assert.That(from[^1], Does.StartWith("mcr.microsoft.com/dotnet/aspnet:10.0"));
            Assert.That(entryPoint, Is.EqualTo(new[] { "dotnet", typeof(SampleHostApp).Assembly.GetName().Name + ".dll" }));
            Assert.That(finalStage.Where(l => l.Instruction == "USER").Select(l => l.Arguments), Is.Not.Empty.And.None.EqualTo("root").And.None.EqualTo("0"));
            Assert.That(exposed, Is.EquivalentTo(new[] { "3001", "3002" }));
        });
    }

    [Test]
    public void Dockerfile_CopiesOnlyWhatExists_AndSetsOnlyVariablesTheHostReads()
    {
        var lines = DockerfileInstructions();

        Assert.Multiple(() =>
        {
            foreach (var copy in lines.Where(l => l.Instruction == "COPY" && !l.Arguments.StartsWith("--from", StringComparison.Ordinal)))
            {
                var parts = copy.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                foreach (var source in parts[..^1])
                {
                    var path = Path.Combine(RepositoryRoot(), source);
                    Assert.That(File.Exists(path) || Directory.Exists(path), Is.True, $"COPY {source}: not in the repository");
                }
            }

            foreach (var env in lines.Where(l => l.Instruction == "ENV"))
            {
                foreach (Match assignment in EnvAssignment().Matches(env.Arguments))
                {
                    Assert.That(IsReadByTheHost(assignment.Groups[1].Value), Is.True, $"ENV {assignment.Groups[1].Value}: nothing reads it");
                }
            }
        });
    }

    /// <summary>
    /// A variable the host reads: <c>LiveUpdates__&lt;option&gt;__…</c> binds an option of <see cref="LiveUpdatesOptions"/>;
    /// any other name must appear as a string literal in the C# of src/ or the sample host (a configuration key or an
    /// environment variable it reads).
    /// </summary>
    private static bool IsReadByTheHost(string name)
    {
        var segments = name.Split("__");
        if (segments.Length > 1)
        {
            return segments[0] == LiveUpdatesOptions.SectionName &&
                typeof(LiveUpdatesOptions).GetProperty(segments[1], BindingFlags.Public | BindingFlags.Instance) is not null;
        }

        var literal = $"\"{name}\"";
        var root = RepositoryRoot();
        return new[] { Path.Combine(root, "src"), Path.Combine(root, "samples", "LiveUpdates.SampleHost") }
            .SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Any(f => File.ReadAllText(f).Contains(literal, StringComparison.Ordinal));
    }

    private static List<(string Instruction, string Arguments)> DockerfileInstructions() =>
        [.. File.ReadAllText(Path.Combine(Deploy, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal).Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => (l.Split(' ', 2)[0].ToUpperInvariant(), l.Split(' ', 2).ElementAtOrDefault(1)?.Trim() ?? ""))];

    private static YamlMappingNode Service(string name) =>
        (YamlMappingNode)((YamlMappingNode)Load("docker-compose.yml")["services"])[name];

    private static YamlMappingNode Load(string file)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(Deploy, file)))
        {
            stream.Load(reader);
        }

        return (YamlMappingNode)stream.Documents.Single().RootNode;
    }

    private static string Scalar(YamlMappingNode node, string key) => ((YamlScalarNode)node[key]).Value!;

    /// <summary>A Go duration as Traefik writes them: <c>0s</c>, <c>180s</c>, <c>3m</c>.</summary>
    private static TimeSpan Duration(string text)
    {
        var match = GoDuration().Match(text);
        Assert.That(match.Success, Is.True, $"'{text}' is not a duration");
        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        return match.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "s" => TimeSpan.FromSeconds(value),
            "m" => TimeSpan.FromMinutes(value),
            _ => TimeSpan.FromHours(value),
        };
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "LiveUpdates.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("LiveUpdates.sln not found above the test directory.");
    }

    [GeneratedRegex(@"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)=")]
    private static partial Regex EnvAssignment();

    [GeneratedRegex(@"^([0-9.]+)(ms|s|m|h)$")]
    private static partial Regex GoDuration();
}
