using Datapath.Drivers.Vfio;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioNet;
using Datapath.Engine.Logging;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Drivers.VirtioPci;

/// <summary>
/// net_virtio: a virtio-net PCI device driven from user space through VFIO (DPDK
/// drivers/net/virtio/virtio_pci_ethdev.c). The transport is virtio-pci's modern one; the rx/tx
/// queues are the same split-ring queues virtio-user uses, with IOVAs in their descriptors and a
/// notify register as their doorbell. One queue pair; paths chosen once at start.
/// </summary>
public sealed unsafe class VirtioPciPort : Port
{
    public const string DriverName = "net_virtio";
    public const ushort VendorId = 0x1af4;
    /// <summary>virtio 1.2 §4.1.2.1: 0x1040 + device id 1 (network) for modern, 0x1000 for transitional.</summary>
    public const ushort ModernNetId = 0x1041, TransitionalNetId = 0x1000;
    const int MaxQueueSize = 1024;

    /// <summary>What we ask for (virtio 1.2 §5.1.3); VERSION_1 and ACCESS_PLATFORM the transport adds.</summary>
    const ulong Wanted = VirtioFeatures.NetMac | VirtioFeatures.NetStatus | VirtioFeatures.NetMtu | VirtioFeatures.NetMrgRxbuf | VirtioFeatures.InOrder;

    public static readonly PciDriver Driver = new(DriverName, [new PciId(VendorId, ModernNetId), new PciId(VendorId, TransitionalNetId)],
        (address, ctx) => new VirtioPciPort(PciAddress.Parse(address), MacAddress.Local(0xa0 + ctx.Ports.Count), ctx.Memory));

    readonly PciAddress _address;
    readonly MacAddress _fallbackMac;
    readonly MemoryOptions _memory;
    VirtioPciTransport? _transport;
    VirtqRings? _rings;
    PacketPool? _pool;
    VirtioNetQueue[] _all = [];
    volatile SplitRxQueue[]? _rx;
    volatile SplitTxQueue[]? _tx;
    ulong _features;
    VirtioNetConfig _config;

    public VirtioPciPort(PciAddress address, MacAddress fallbackMac, MemoryOptions memory) : base(address.ToString())
    {
        _memory = memory;
        _address = address;
        _fallbackMac = fallbackMac;
    }

    public ulong NegotiatedFeatures => _features;

    public override PortInfo Info => new()
    {
        DriverName = DriverName,
        DeviceName = Name,
        Mac = _config.Mac ?? _fallbackMac,
        Mtu = _config.Mtu ?? 1500,
        MinDescriptors = 1,
        MaxDescriptors = MaxQueueSize,
        Capabilities = PortCapabilities.MultiSegment | PortCapabilities.Promiscuous,
    };

    /// <summary>The link as the device reports it (§5.1.4, VIRTIO_NET_S_LINK_UP), read on each query.</summary>
    public override LinkStatus Link
    {
        get
        {
            if (State != PortState.Started || _transport is null) return LinkStatus.Down;
            Span<byte> c = stackalloc byte[VirtioNetConfig.Size];
            int n = _transport.ReadDeviceConfig(0, c);
            return VirtioNetConfig.Parse(c[..n], _features).LinkUp ? new LinkStatus(true) : LinkStatus.Down;
        }
    }

    protected override void OnConfigure(PortConfig config)
    {
        if (config.Pool.Headroom < VirtioNetHeader.Size)
            throw new PortConfigException($"{Name}: pool headroom {config.Pool.Headroom} B cannot hold the 12-byte virtio-net header");
        if (config.RxQueues > 1 || config.TxQueues > 1)
            throw new PortConfigException($"{Name}: one queue pair is supported (asked rxq {config.RxQueues}, txq {config.TxQueues})");
        _pool = config.Pool;
    }

    protected override void OnStart()
    {
        try
        {
            BringUp();
        }
        catch (Exception e) when (e is VfioException or VirtioPciException or HugepageException)
        {
            Teardown();
            throw new PortConfigException(e.Message.StartsWith(Name, StringComparison.Ordinal) ? e.Message : $"{Name}: {e.Message}");
        }
        catch
        {
            Teardown();
            throw;
        }
    }

    /// <summary>virtio 1.2 §3.1.1, in order: reset, features, queues, config, DRIVER_OK.</summary>
    void BringUp()
    {
        var t = _transport = VirtioPciTransport.Open(_address);
        var vfio = t.Vfio;
        EngineLog.Info($"VIRTIO_PCI({Name})", $"{(vfio.NoIommu ? "vfio-noiommu" : "VFIO type1 IOMMU")}, MSI-X {vfio.Device.Irq(2).Count} vectors, INTx {vfio.Device.Irq(0).Count} (polling)");
        t.Reset();
        vfio.Device.EnableBusMaster();
        _features = t.Negotiate(Wanted);

        int size = QueueSize(t);
        _rings = new VirtqRings(Name, 2, size, 0, _memory);
        vfio.MapMemory(_rings.Region);
        foreach (var r in _pool!.Regions) vfio.MapMemory(r);
        var mapped = new MappedMemory([.. _pool.Regions.Select(r => ((ulong)r.Base, r.Length))]);

        bool inOrder = VirtioFeatures.Has(_features, VirtioFeatures.InOrder);
        bool mergeable = VirtioFeatures.Has(_features, VirtioFeatures.NetMrgRxbuf);
        var rxBell = Doorbell(t, 0, _rings.Split(0));
        var txBell = Doorbell(t, 1, _rings.Split(1));
        var rxAddressing = new QueueAddressing(rxBell, UseIova: true);
        var rx = mergeable
            ? new SplitMergeableRxQueue(0, _rings.Split(0), inOrder, _pool, Id, rxAddressing)
            : new SplitRxQueue(0, _rings.Split(0), inOrder, _pool, Id, rxAddressing);
        var tx = new SplitTxQueue(1, _rings.Split(1), inOrder, mapped, _rings.Region.VaToIova(_rings.ZeroHeader), new QueueAddressing(txBell, UseIova: true));
        _all = [rx, tx];

        Span<byte> c = stackalloc byte[VirtioNetConfig.Size];
        _config = VirtioNetConfig.Parse(c[..t.ReadDeviceConfig(0, c)], _features);
        t.DriverOk();
        if (t.NeedsReset) throw new VirtioPciException("device set DEVICE_NEEDS_RESET right after DRIVER_OK");
        rxBell.Arm();
        txBell.Arm();
        rx.Wake();
        _tx = [tx];
        _rx = [rx];
        EngineLog.Info($"VIRTIO_PCI({Name})", $"queue size {size}, {(mergeable ? "mergeable" : "single-buffer")} rx, {(inOrder ? "in-order" : "out-of-order")}, features 0x{_features:x}, mac {Info.Mac}, link {(_config.LinkUp ? "up" : "down")}");
    }

    /// <summary>The device's maximum for both queues, capped and rounded down to a power of two (§2.7: split rings).</summary>
    static int QueueSize(VirtioPciTransport t)
    {
        int max = Math.Min(Math.Min(t.MaxQueueSize(0), t.MaxQueueSize(1)), MaxQueueSize);
        if (max < 2) throw new VirtioPciException($"device offers no usable rx/tx queue (size {max})");
        return 1 << (31 - int.LeadingZeroCount(max));
    }

    /// <summary>Programs queue <paramref name="index"/> with its ring's IOVAs and returns its (unarmed) doorbell.</summary>
    MmioDoorbell Doorbell(VirtioPciTransport t, int index, SplitRing ring)
    {
        var region = _rings!.Region;
        ulong desc = Iova(region, ring.Desc, 16 * ring.Size);
        ulong avail = Iova(region, ring.Avail, 6 + 2 * ring.Size);
        ulong used = Iova(region, ring.Used, 6 + 8 * ring.Size);
        return new MmioDoorbell(t.SetUpQueue(index, ring.Size, desc, avail, used), (ushort)index);
    }

    /// <summary>The IOVA of one ring part, which must be contiguous in IOVA space (noiommu: physical pages).</summary>
    static ulong Iova(HugepageRegion region, void* start, int length)
    {
        ulong first = region.VaToIova(start), last = region.VaToIova((byte*)start + length - 1);
        if (last - first != (ulong)length - 1) throw new VirtioPciException("a ring part spans physically discontiguous pages");
        return first;
    }

    public override int RxBurst(int queue, Span<Packet> pkts)
    {
        var rx = _rx;
        if (rx is null || (uint)queue >= (uint)rx.Length) return 0;
        return rx[queue].Receive(pkts, ref Counters.Rx(queue));
    }

    public override int TxBurst(int queue, ReadOnlySpan<Packet> pkts)
    {
        var tx = _tx;
        if (tx is null || (uint)queue >= (uint)tx.Length) return 0;
        return tx[queue].Transmit(pkts, ref Counters.Tx(queue));
    }

    protected override void OnStop() => Teardown();

    protected override void OnClose() => Teardown();

    /// <summary>Reset first, so the device stops DMA, then free what it could touch, then unmap (§3.3.1).</summary>
    void Teardown()
    {
        _rx = null;
        _tx = null;
        if (_transport is not null)
        {
            try { _transport.Reset(); } catch (VirtioPciException e) { EngineLog.Info($"VIRTIO_PCI({Name})", e.Message); }
        }
        foreach (var q in _all) q.Dispose();
        _all = [];
        _rings?.Dispose();
        _rings = null;
        _transport?.Dispose();
        _transport = null;
    }

    protected override void AddExtendedStats(List<KeyValuePair<string, ulong>> stats)
    {
        foreach (var q in _all)
        {
            stats.Add(new($"q{q.VringIndex}_hostile_values", q.HostileValues));
            stats.Add(new($"q{q.VringIndex}_kicks", q.Kicks));
        }
    }
}
