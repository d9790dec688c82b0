using System.Text.Json;
using Datapath.Tests.Support;
using Xunit.Abstractions;

namespace Datapath.Tests.Guest;

/// <summary>
/// net_virtio on a real device: QEMU (TCG) gives the guest a virtio-net-pci NIC whose backend is
/// dpdk-testpmd (vhost-user, macswap) on the host. Inside the guest the NIC is bound to vfio-pci and
/// our engine — the host's build, over 9p — drives it with flowgen; testpmd swaps the MACs and sends
/// every frame back. Counted on both sides: what we sent testpmd received, what it sent we received.
/// </summary>
[Collection(GuestCollection.Name)]
public sealed class VfioGuestTests(ITestOutputHelper log)
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OurEngineDrivesTheGuestNicThroughVfioAndTestpmdEchoesIt(bool noIommu)
    {
        if (noIommu) GuestImage.Get(noIommu: true);   // builds the noiommu vfio.ko once
        string socket = Path.Combine(Path.GetTempPath(), $"dp-vfio-{Environment.ProcessId}-{(noIommu ? "noiommu" : "iommu")}.sock");
        using var testpmd = Testpmd.VhostUserBackend(socket, "macswap", iommuSupport: !noIommu);
        var result = QemuGuest.Run(new GuestOptions
        {
            Script = Path.Combine(GuestImage.ScriptsDir, "vfio-engine.sh"),
            Nic = GuestNic.VhostUser,
            VhostUserSocket = socket,
            Iommu = !noIommu,
            VfioNoIommu = noIommu,
            MemoryMiB = 1024,
            Env = new Dictionary<string, string>
            {
                ["VFIO_MODE"] = noIommu ? "noiommu" : "iommu",
                ["DATAPATH_DLL"] = RepoPaths.DatapathDll,
                ["RUN_SECONDS"] = "15",
            },
            Timeout = TimeSpan.FromSeconds(300),
        });
        log.WriteLine(result.Describe(40));
        if (result.Files.TryGetValue("engine.log", out var engineLog)) log.WriteLine(engineLog);
        var theirs = testpmd.PortStats(0);
        log.WriteLine($"testpmd: rx {theirs.RxPackets} tx {theirs.TxPackets} tx errors {theirs.TxErrors}");

        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal("vfio-pci", result.Values("vfio")["driver"]);
        string last = result.Files["stats.jsonl"].Trim().Split('\n')[^1];
        var port = JsonDocument.Parse(last).RootElement.GetProperty("ports")[0];
        Assert.Equal("net_virtio", port.GetProperty("driver").GetString());
        long rx = port.GetProperty("rx_packets").GetInt64(), tx = port.GetProperty("tx_packets").GetInt64();
        log.WriteLine($"net_virtio in the guest: rx {rx} tx {tx}");
        Assert.True(tx > 0, "our engine sent nothing");
        Assert.True(rx > 0, "nothing came back to our engine");
        // Every frame testpmd sent back reached us, and it received no more than we sent (those it
        // could not translate behind a cold IOTLB it drops; the ring holds at most 256 in flight).
        Assert.True(theirs.RxPackets <= tx, $"testpmd rx {theirs.RxPackets} > our tx {tx}");
        Assert.InRange(theirs.TxPackets - rx, 0, 256);
        if (noIommu) Assert.Contains("UNSAFE", engineLog);
    }
}
