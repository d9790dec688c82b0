using System.Diagnostics;
using Datapath.Tests.Support;
using Xunit.Abstractions;

namespace Datapath.Tests.Guest;

/// <summary>QEMU guests run one at a time, alone: under TCG each keeps a host CPU busy.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class GuestCollection
{
    public const string Name = "QEMU guest";
}

/// <summary>
/// The QEMU guest harness against real peers: the template for the net_vhost (guest kernel
/// virtio-net on our backend) and VFIO (our engine in the guest) tests.
/// </summary>
[Collection(GuestCollection.Name)]
public sealed class GuestHarnessTests(ITestOutputHelper log)
{
    static string GuestScript(string name) => Path.Combine(GuestImage.ScriptsDir, name);

    [Fact]
    public void AGuestBootsRunsAScriptAndReportsThroughTheShare()
    {
        var result = QemuGuest.Run(new GuestOptions
        {
            Script = GuestScript("system-info.sh"),
            Env = new Dictionary<string, string> { ["GREETING"] = "it's me" },
            Timeout = TimeSpan.FromSeconds(90),
        });
        log.WriteLine(result.Describe(15));

        Assert.True(result.ExitCode == 0, result.Describe());
        var info = result.Values("system");
        var image = GuestImage.Get();
        Assert.Equal(image.KernelVersion, info["uname"]);
        Assert.Equal("1", info["nproc"]);
        Assert.True(long.Parse(info["mem_kib"]) > 256 * 1024, $"guest memory {info["mem_kib"]} KiB");
        Assert.Equal("yes", info["root_writable"]); // the overlay's tmpfs upper layer
        Assert.Equal("it's me", info["greeting"]);
    }

    [Fact]
    public void TheGuestKernelNicOnAVhostUserTestpmdGetsEveryFrameBackSwapped()
    {
        const int frames = 1000;
        string socket = Path.Combine(Path.GetTempPath(), $"dp-guest-vhu-{Guid.NewGuid():N}"[..24] + ".sock");
        var sw = Stopwatch.StartNew();
        using var testpmd = Testpmd.VhostUser(socket, forwardMode: "macswap", autoStart: true);
        log.WriteLine($"testpmd pid {testpmd.Pid} up in {sw.Elapsed.TotalSeconds:F1} s");

        var result = QemuGuest.Run(new GuestOptions
        {
            Script = GuestScript("vhost-user-kernel-nic.sh"),
            Nic = GuestNic.VhostUser,
            VhostUserSocket = socket,
            Env = new Dictionary<string, string> { ["FRAMES"] = $"{frames}" },
            Timeout = TimeSpan.FromSeconds(90),
        });
        log.WriteLine(result.Describe(15));
        var stats = testpmd.PortStats(0);
        log.WriteLine($"testpmd port 0: {stats}");

        Assert.True(result.ExitCode == 0, result.Describe());
        var nic = result.Values("nic");
        var raw = result.Values("rawframes");
        Assert.Equal("1", nic["carrier"]);
        Assert.Equal($"{frames}", raw["sent"]);
        Assert.Equal($"{frames}", raw["echoed"]);
        // testpmd saw what the guest's NIC sent, and sent back all it saw (macswap forwards everything)
        Assert.Equal(ulong.Parse(nic["tx_packets"]), stats.RxPackets);
        Assert.Equal(stats.RxPackets, stats.TxPackets);
        Assert.Equal(ulong.Parse(nic["rx_packets"]), stats.TxPackets);
        Assert.True(stats.RxPackets >= (ulong)frames);
    }
    [Fact]
    public void BehindTheVirtualIommuTheGuestNicBindsToVfioPciInAnIommuGroup()
    {
        var result = QemuGuest.Run(new GuestOptions
        {
            Script = GuestScript("vfio-bind.sh"),
            Nic = GuestNic.Plain,
            Iommu = true,
            Env = new Dictionary<string, string> { ["VFIO_MODE"] = "iommu" },
            Timeout = TimeSpan.FromSeconds(90),
        });
        log.WriteLine(result.Describe(15));

        Assert.True(result.ExitCode == 0, result.Describe());
        var vfio = result.Values("vfio");
        Assert.Equal("vfio-pci", vfio["driver"]);
        Assert.NotEqual("", vfio["group"]);
        Assert.Equal("yes", vfio["group_dev_present"]);
        Assert.Equal($"/dev/vfio/{vfio["group"]}", vfio["group_dev"]);
    }

    [Fact]
    public void WithTheRebuiltVfioModuleTheGuestNicGetsANoIommuGroup()
    {
        var sw = Stopwatch.StartNew();
        var image = GuestImage.Get(noIommu: true); // the first time: linux-source + a vfio.ko build
        log.WriteLine($"noiommu vfio.ko {image.VfioNoIommuModule} ready in {sw.Elapsed.TotalSeconds:F1} s");

        var result = QemuGuest.Run(new GuestOptions
        {
            Script = GuestScript("vfio-bind.sh"),
            Nic = GuestNic.Plain,
            VfioNoIommu = true,
            Env = new Dictionary<string, string> { ["VFIO_MODE"] = "noiommu" },
            Timeout = TimeSpan.FromSeconds(90),
        });
        log.WriteLine(result.Describe(15));

        Assert.True(result.ExitCode == 0, result.Describe());
        var vfio = result.Values("vfio");
        Assert.Equal("Y", vfio["noiommu_param"]);
        Assert.Equal("vfio-pci", vfio["driver"]);
        Assert.Equal($"/dev/vfio/noiommu-{vfio["group"]}", vfio["group_dev"]);
        Assert.Equal("yes", vfio["group_dev_present"]);
    }
}
