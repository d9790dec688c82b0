using System.Text.Json;
using Datapath.Engine.Forwarding;
using Datapath.Engine.Lcores;
using Datapath.Tests.Drivers.VhostUser;
using Datapath.Tests.Support;
using Xunit.Abstractions;

namespace Datapath.Tests.Guest;

/// <summary>
/// net_virtio on a real device: QEMU (TCG) gives the guest a virtio-net-pci NIC whose backend is
/// vhost-user on the host — dpdk-testpmd in macswap, or our own net_vhost with a macswap engine.
/// Inside the guest the NIC is bound to vfio-pci and our engine — the host's build, over 9p — drives
/// it with flowgen; the backend swaps the MACs and sends every frame back. Counted on both sides:
/// what we sent the backend received, what it sent we received.
/// </summary>
[Collection(GuestCollection.Name)]
public sealed class VfioGuestTests(ITestOutputHelper log)
{
    /// <summary>At most one ring of frames is in flight when the engine stops.</summary>
    const long RingSize = 256;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OurEngineDrivesTheGuestNicThroughVfioAndTestpmdEchoesIt(bool noIommu)
    {
        string socket = Path.Combine(Path.GetTempPath(), $"dp-vfio-{Environment.ProcessId}-{(noIommu ? "noiommu" : "iommu")}.sock");
        using var testpmd = Testpmd.VhostUser(socket, forwardMode: "macswap", autoStart: true, iommuSupport: !noIommu);
        var (rx, tx) = RunEngineInGuest(socket, noIommu);
        var theirs = testpmd.PortStats(0);
        log.WriteLine($"testpmd: rx {theirs.RxPackets} tx {theirs.TxPackets} tx errors {theirs.TxErrors}");
        // Every frame testpmd sent back reached us, and it received no more than we sent (behind a
        // cold IOTLB it drops what it cannot translate yet).
        Assert.InRange(theirs.RxPackets, 1UL, (ulong)tx);
        Assert.InRange((long)theirs.TxPackets - rx, 0, RingSize);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void OurEngineDrivesTheGuestNicThroughVfioAndOurNetVhostEchoesIt(bool noIommu)
    {
        using var rig = new VhostPortRig(noIommu ? "" : "iommu-support=1");
        int cpu = Environment.ProcessorCount - 1;
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption($"0@{cpu},1@{cpu}"), pinMain: false);
        var fwd = new ForwardingEngine(rig.Ports, lcores, new ForwardingConfig { Mode = "macswap", TxRetry = true });
        fwd.Start();
        (long Rx, long Tx) guest;
        try
        {
            guest = RunEngineInGuest(rig.Socket, noIommu);
        }
        finally
        {
            fwd.Stop();
        }
        var ours = rig.Port.GetStats();
        ulong dropped = fwd.Totals().Dropped;
        log.WriteLine($"net_vhost on the host: rx {ours.RxPackets} tx {ours.TxPackets}, forwarding dropped {dropped}");
        Assert.InRange((long)ours.RxPackets, 1, guest.Tx);
        Assert.InRange((long)ours.TxPackets - guest.Rx, 0, RingSize);
        // What the backend could not send back (no translated rx buffer after retries) is counted, never lost.
        Assert.Equal(ours.RxPackets - ours.TxPackets, dropped);
    }

    /// <summary>
    /// The other ring format and more than one queue pair: the NIC offers packed=on and mq=on with two
    /// pairs, our engine takes RING_PACKED, MQ and CTRL_VQ, sends MQ_VQ_PAIRS_SET 2 on the control
    /// queue, and flowgen runs on both pairs. QEMU enables the second pair on the host only after
    /// that command, so traffic on both of our net_vhost's queues shows it was acknowledged.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void PackedRingsAndTwoQueuePairsWorkThroughVfio(bool noIommu)
    {
        using var rig = new VhostPortRig(noIommu ? "" : "iommu-support=1", queues: 2);
        int cpu = Environment.ProcessorCount - 1;
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption($"0@{cpu},1@{cpu}"), pinMain: false);
        var fwd = new ForwardingEngine(rig.Ports, lcores, new ForwardingConfig { Mode = "macswap", TxRetry = true });
        fwd.Start();
        (long Rx, long Tx) guest;
        try
        {
            guest = RunEngineInGuest(rig.Socket, noIommu, packed: true, queues: 2);
        }
        finally
        {
            fwd.Stop();
        }
        var ours = rig.Port.GetStats();
        log.WriteLine($"net_vhost on the host: rx {ours.RxPackets} (q0 {ours.RxQueues[0].Packets}, q1 {ours.RxQueues[1].Packets}) tx {ours.TxPackets}");
        Assert.True(ours.RxQueues[0].Packets > 0, "nothing arrived on queue pair 0");
        Assert.True(ours.RxQueues[1].Packets > 0, "nothing arrived on queue pair 1: MQ_VQ_PAIRS_SET did not take");
        Assert.InRange((long)ours.RxPackets, 1, guest.Tx);
        Assert.InRange((long)ours.TxPackets - guest.Rx, 0, 2 * RingSize);
    }

    /// <summary>
    /// Interrupt wiring (VFIO_DEVICE_SET_IRQS): the NIC has INTx only here (vectors=0), and our port
    /// puts an eventfd on it. When the vhost-user backend goes away mid-run, QEMU takes the NIC's link
    /// down and raises a config-change interrupt: the port counts it (ISR bit 1, INTx unmasked again)
    /// and reports the link down.
    /// </summary>
    [Fact]
    public void ABackendGoingAwayTakesTheLinkDownWithAConfigInterrupt()
    {
        var rig = new VhostPortRig();
        int cpu = Environment.ProcessorCount - 1;
        using var lcores = new LcoreSet(LcoreMap.FromLcoresOption($"0@{cpu},1@{cpu}"), pinMain: false);
        var fwd = new ForwardingEngine(rig.Ports, lcores, new ForwardingConfig { Mode = "macswap", TxRetry = true });
        fwd.Start();
        bool stopped = false, guestDone = false;
        var killer = new Thread(() =>
        {
            // Once frames flow, the backend goes: its port and socket close.
            VhostPortRig.WaitFor(() => guestDone || rig.Port.GetStats().RxPackets > 10_000, TimeSpan.FromSeconds(300));
            if (guestDone) return;
            fwd.Stop();
            stopped = true;
            rig.Dispose();
        });
        killer.Start();
        JsonElement port;
        try
        {
            port = RunEngineInGuestFull(rig.Socket, noIommu: true, expectLinkUp: false).Port;
        }
        finally
        {
            Volatile.Write(ref guestDone, true);
            killer.Join();
            if (!stopped) { fwd.Stop(); rig.Dispose(); }
        }
        Assert.True(stopped, "no traffic reached the backend, so it was never taken away");
        var x = port.GetProperty("xstats");
        log.WriteLine($"xstats: irq_events {x.GetProperty("irq_events")} config_change_irqs {x.GetProperty("config_change_irqs")}");
        Assert.False(port.GetProperty("link_up").GetBoolean());
        Assert.True(x.GetProperty("config_change_irqs").GetUInt64() >= 1, "no config-change interrupt was counted");
    }

    /// <summary>Boots the guest, binds its NIC to vfio-pci, runs flowgen on it; returns the engine's final rx/tx.</summary>
    (long Rx, long Tx) RunEngineInGuest(string socket, bool noIommu, bool packed = false, int queues = 1)
    {
        var (rx, tx, _) = RunEngineInGuestFull(socket, noIommu, packed, queues, expectLinkUp: true);
        return (rx, tx);
    }

    (long Rx, long Tx, JsonElement Port) RunEngineInGuestFull(string socket, bool noIommu, bool packed = false, int queues = 1, bool expectLinkUp = true)
    {
        if (noIommu) GuestImage.Get(noIommu: true);   // builds the noiommu vfio.ko once
        var result = QemuGuest.Run(new GuestOptions
        {
            Script = Path.Combine(GuestImage.ScriptsDir, "vfio-engine.sh"),
            Nic = GuestNic.VhostUser,
            VhostUserSocket = socket,
            Iommu = !noIommu,
            VfioNoIommu = noIommu,
            MemoryMiB = 1024,
            NicPacked = packed,
            NicQueues = queues,
            Env = new Dictionary<string, string>
            {
                ["VFIO_MODE"] = noIommu ? "noiommu" : "iommu",
                ["DATAPATH_DLL"] = RepoPaths.DatapathDll,
                ["RUN_SECONDS"] = "15",
                ["QUEUES"] = $"{queues}",
            },
            Timeout = TimeSpan.FromSeconds(300),
        });
        log.WriteLine(result.Describe(40));
        string engineLog = result.Files.GetValueOrDefault("engine.log", "");
        log.WriteLine(engineLog);
        Assert.True(result.ExitCode == 0, result.Describe());
        Assert.Equal("vfio-pci", result.Values("vfio")["driver"]);
        Assert.Contains(noIommu ? "vfio-noiommu mode — UNSAFE" : "VFIO type1 IOMMU", engineLog);
        string last = result.Files["stats.jsonl"].Trim().Split('\n')[^1];
        var port = JsonDocument.Parse(last).RootElement.GetProperty("ports")[0].Clone();
        Assert.Equal("net_virtio", port.GetProperty("driver").GetString());
        if (expectLinkUp) Assert.True(port.GetProperty("link_up").GetBoolean());
        long rx = port.GetProperty("rx_packets").GetInt64(), tx = port.GetProperty("tx_packets").GetInt64();
        log.WriteLine($"net_virtio in the guest: rx {rx} tx {tx}");
        Assert.Contains($"{queues} {(packed ? "packed" : "split")} queue pair(s)", engineLog);
        Assert.True(tx > 0, "our engine sent nothing");
        Assert.True(rx > 0, "nothing came back to our engine");
        return (rx, tx, port);
    }
}
