using LiveUpdates.SampleHost.Hosting;
using YamlDotNet.RepresentationModel;

namespace LiveUpdates.Tests.Deploy;

/// <summary>The one-port variant: docker-compose.one-port.yml on top of docker-compose.yml, and its Traefik route.</summary>
public sealed partial class DeploymentExampleTests
{
    private const string OnePortCompose = "docker-compose.one-port.yml";

    [TestCase(OnePortCompose)]
    [TestCase("traefik/dynamic.one-port.yml")]
    public void OnePortYamlFile_Parses_ToOneMapping(string file) =>
        Assert.That(Load(file), Is.InstanceOf<YamlMappingNode>());

    [Test]
    public void OnePortCompose_SwitchesTheSampleToOnePort_AndTrustsTraefikThroughForwardedHeaders()
    {
        var bot = OnePortService("bot");
        var environment = (YamlMappingNode)bot["environment"];
        var names = environment.Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();
        var traefikAddress = Scalar((YamlMappingNode)((YamlMappingNode)Service("traefik")["networks"])["edge"], "ipv4_address");
        var trustedProxies = (YamlScalarNode)environment["LiveUpdates__TrustedProxies__0"];

        Assert.Multiple(() =>
        {
            Assert.That(Scalar(environment, OnePortMode.SwitchKey.Replace(":", "__", StringComparison.Ordinal)), Is.EqualTo("true"));
            Assert.That(Scalar(environment, OnePortMode.KnownProxiesKey.Replace(":", "__", StringComparison.Ordinal) + "__0"), Is.EqualTo(traefikAddress));
            Assert.That(trustedProxies.Tag.Value, Is.EqualTo("!reset"), "TrustedProxies with the ASP.NET Core transport fails start-up: the override removes it");
            Assert.That(((YamlSequenceNode)bot["expose"]).Select(n => ((YamlScalarNode)n).Value), Is.EqualTo(new[] { "3001" }));
            foreach (var name in names)
            {
                Assert.That(IsReadByTheHost(name), Is.True, $"the one-port bot is given {name}, which nothing in src/ or the sample host reads");
            }
        });
    }

    [Test]
    public void OnePortCompose_ReplacesTraefiksRoutes_AndPointsTheDashboardAtTheLivePath()
    {
        var baseMount = ((YamlSequenceNode)Service("traefik")["volumes"]).Select(n => ((YamlScalarNode)n).Value!).Single(v => v.Contains("dynamic.yml", StringComparison.Ordinal));
        var mount = ((YamlScalarNode)((YamlSequenceNode)OnePortService("traefik")["volumes"]).Single()).Value!.Split(':');
        var dashboard = OnePortService("dashboard");
        var arg = Scalar((YamlMappingNode)((YamlMappingNode)dashboard["build"])["args"], "NEXT_PUBLIC_WS_URL");

        Assert.Multiple(() =>
        {
            Assert.That(mount[1], Is.EqualTo(baseMount.Split(':')[1]), "the same target, so the one-port routes replace the default ones");
            Assert.That(File.Exists(Path.Combine(Deploy, mount[0])), Is.True, $"Traefik mounts {mount[0]}");
            Assert.That(arg, Does.StartWith("wss://").And.EndWith(OnePortMode.Path));
            Assert.That(Scalar((YamlMappingNode)dashboard["environment"], "NEXT_PUBLIC_WS_URL"), Is.EqualTo(arg));
        });
    }

    [Test]
    public void OnePortTraefik_RoutesOnlyTheLivePathOfTheWebSocketHost_ToTheApiPort()
    {
        var http = (YamlMappingNode)Load("traefik/dynamic.one-port.yml")["http"];
        var router = (YamlMappingNode)((YamlMappingNode)http["routers"]).Children.Values.Single();
        var service = (YamlMappingNode)((YamlMappingNode)((YamlMappingNode)http["services"])[Scalar(router, "service")])["loadBalancer"];
        var url = new Uri(Scalar((YamlMappingNode)((YamlSequenceNode)service["servers"]).Single(), "url"));
        var apiPort = Scalar((YamlMappingNode)Service("bot")["environment"], "API_PORT");

        Assert.Multiple(() =>
        {
            Assert.That(Scalar(router, "rule"), Is.EqualTo($"Host(`ws.example.net`) && Path(`{OnePortMode.Path}`)"));
            Assert.That((url.Host, url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(("bot", apiPort)));
            Assert.That(((YamlMappingNode)http["serversTransports"]).Children.ContainsKey(Scalar(service, "serversTransport")), Is.True);
        });
    }

    private static YamlMappingNode OnePortService(string name) =>
        (YamlMappingNode)((YamlMappingNode)Load(OnePortCompose)["services"])[name];
}
