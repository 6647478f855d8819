using System.Net;
using LiveUpdates.Internal.Admission;

namespace LiveUpdates.Tests.Unit;

/// <summary>The per-address limit's key (issue 20, item 5): IPv6 by /64, IPv4 and mapped IPv4 by address.</summary>
[TestFixture]
public sealed class ConnectionLimiterTests
{
    [Test]
    public void TryAcquire_IPv6_CountsTheWhole64_NotEachAddress()
    {
        var limiter = new ConnectionLimiter(maxConnections: 100, maxPerAddress: 2);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.TryAcquire("2001:db8:1:2::1").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("2001:db8:1:2:aaaa:bbbb:cccc:dddd").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("2001:db8:1:2:ffff::9").Status, Is.EqualTo(HttpStatusCode.TooManyRequests), "a third address of the same /64");
            Assert.That(limiter.TryAcquire("2001:db8:1:3::1").IsAdmitted, Is.True, "the next /64 is another customer");
        });

        limiter.Release("2001:db8:1:2::1");
        Assert.That(limiter.TryAcquire("2001:db8:1:2::77").IsAdmitted, Is.True, "a release frees the /64's slot, whichever address takes it");
    }

    [Test]
    public void TryAcquire_IPv4_AndIPv4MappedIntoIPv6_CountAsTheSameAddress_EachAddressOnItsOwn()
    {
        var limiter = new ConnectionLimiter(maxConnections: 100, maxPerAddress: 2);
        Assert.Multiple(() =>
        {
            Assert.That(limiter.TryAcquire("192.0.2.1").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("::ffff:192.0.2.1").IsAdmitted, Is.True);
            Assert.That(limiter.TryAcquire("192.0.2.1").IsAdmitted, Is.False, "the mapped form is the same client");
            Assert.That(limiter.TryAcquire("192.0.2.2").IsAdmitted, Is.True, "IPv4 neighbours are not grouped");
        });
    }

    [TestCase("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64")]
    [TestCase("::1", "::/64")]
    [TestCase("10.1.2.3", "10.1.2.3")]
    [TestCase("::ffff:10.1.2.3", "10.1.2.3")]
    [TestCase("unknown", "unknown")]
    public void KeyOf(string address, string key) => Assert.That(ConnectionLimiter.KeyOf(address), Is.EqualTo(key));
}
