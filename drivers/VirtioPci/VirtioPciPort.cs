using Datapath.Drivers.Vfio;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VirtioNet;
using Datapath.Engine.Logging;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VirtioPci;

/// <summary>
/// net_virtio: a virtio-net PCI device driven from user space through VFIO (DPDK
/// drivers/net/virtio/virtio_pci_ethdev.c). The transport is virtio-pci's modern one; the rx/tx
/// queues are the same split or packed queues virtio-user uses, with IOVAs in their descriptors and
/// a notify register as their doorbell. Several queue pairs through VIRTIO_NET_F_MQ and the control
/// queue (§5.1.6.5.5); paths chosen once at start.
/// </summary>
public sealed unsafe class VirtioPciPort : Port
{
    public const string DriverName = "net_virtio";
    public const ushort VendorId = 0x1af4;
    /// <summary>virtio 1.2 §4.1.2.1: 0x1040 + device id 1 (network) for modern, 0x1000 for transitional.</summary>
    public const ushort ModernNetId = 0x1041, TransitionalNetId = 0x1000;
    const int MaxQueueSize = 1024;
    const int ControlQueueSize = 16;
    /// <summary>DPDK's virtio PMD limit (VIRTIO_MAX_RX_QUEUES).</summary>
    const int MaxPairs = 128;

    /// <summary>What we ask for (virtio 1.2 §5.1.3); VERSION_1 and ACCESS_PLATFORM the transport adds.</summary>
    const ulong Wanted = VirtioFeatures.NetMac | VirtioFeatures.NetStatus | VirtioFeatures.NetMtu | VirtioFeatures.NetMrgRxbuf
        | VirtioFeatures.InOrder | VirtioFeatures.RingPacked;
    /// <summary>Asked for only with more than one queue pair: MQ needs the control queue to take effect.</summary>
    const ulong WantedForPairs = VirtioFeatures.NetMq | VirtioFeatures.NetCtrlVq;

    public static readonly PciDriver Driver = new(DriverName, [new PciId(VendorId, ModernNetId), new PciId(VendorId, TransitionalNetId)],
        (address, ctx) => new VirtioPciPort(PciAddress.Parse(address), MacAddress.Local(0xa0 + ctx.Ports.Count), ctx.Memory));

    readonly PciAddress _address;
    readonly MacAddress _fallbackMac;
    readonly MemoryOptions _memory;
    VirtioPciTransport? _transport;
    VirtqRings? _rings;
    PacketPool? _pool;
    VirtioNetQueue[] _all = [];
    volatile VirtioNetRxQueue[]? _rx;
    volatile VirtioNetTxQueue[]? _tx;
    ControlQueue? _control;
    int _pairs = 1;
    int _mtu = 1500;
    // Interrupts (polling is the mode; these only tell the control plane about config changes).
    readonly Lock _irqLock = new();
    int _irqFd = -1;
    int _irqIndex = -1;
    ulong _irqEvents, _configChanges;
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
        Mtu = _mtu,
        MinDescriptors = 1,
        MaxDescriptors = MaxQueueSize,
        // The device says how many pairs it has only once opened (max_virtqueue_pairs); start checks it.
        MaxRxQueues = _config.MaxVirtqueuePairs ?? MaxPairs,
        MaxTxQueues = _config.MaxVirtqueuePairs ?? MaxPairs,
        Capabilities = PortCapabilities.MultiSegment | PortCapabilities.Promiscuous,
    };

    /// <summary>The link as the device reports it (§5.1.4, VIRTIO_NET_S_LINK_UP), read on each query.</summary>
    public override LinkStatus Link
    {
        get
        {
            if (State != PortState.Started || _transport is null) return LinkStatus.Down;
            ServiceInterrupts();
            Span<byte> c = stackalloc byte[VirtioNetConfig.Size];
            int n = _transport.ReadDeviceConfig(0, c);
            return VirtioNetConfig.Parse(c[..n], _features).LinkUp ? new LinkStatus(true) : LinkStatus.Down;
        }
    }

    protected override void OnConfigure(PortConfig config)
    {
        if (config.Pool.Headroom < VirtioNetHeader.Size)
            throw new PortConfigException($"{Name}: pool headroom {config.Pool.Headroom} B cannot hold the 12-byte virtio-net header");
        if (config.RxQueues != config.TxQueues)
            throw new PortConfigException($"{Name}: virtio-net queues come in pairs (asked rxq {config.RxQueues}, txq {config.TxQueues}): give --rxq and --txq the same count");
        _pairs = config.RxQueues;
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

    /// <summary>virtio 1.2 §3.1.1, in order: reset, features, queues, config, DRIVER_OK; then MQ_VQ_PAIRS_SET.</summary>
    void BringUp()
    {
        var t = _transport = VirtioPciTransport.Open(_address);
        var vfio = t.Vfio;
        EngineLog.Info($"VIRTIO_PCI({Name})", $"{(vfio.NoIommu ? "vfio-noiommu" : "VFIO type1 IOMMU")}, MSI-X {vfio.Device.Irq(2).Count} vectors, INTx {vfio.Device.Irq(0).Count} (polling)");
        t.Reset();
        vfio.Device.EnableBusMaster();
        _features = t.Negotiate(Wanted | (_pairs > 1 ? WantedForPairs : 0));
        Span<byte> c = stackalloc byte[VirtioNetConfig.Size];
        _config = VirtioNetConfig.Parse(c[..t.ReadDeviceConfig(0, c)], _features);
        int controlIndex = ControlQueueIndex(t);
        _mtu = Mtu(_config.Mtu, VirtioFeatures.Has(_features, VirtioFeatures.NetMrgRxbuf), _pool!);

        bool packed = VirtioFeatures.Has(_features, VirtioFeatures.RingPacked);
        bool inOrder = VirtioFeatures.Has(_features, VirtioFeatures.InOrder);
        bool mergeable = VirtioFeatures.Has(_features, VirtioFeatures.NetMrgRxbuf);
        WireInterrupts(t);
        int size = QueueSize(t, 2 * _pairs, packed);
        int controlSize = controlIndex < 0 ? 0 : ControlSize(t, controlIndex, packed);
        var rings = _rings = new VirtqRings(Name, 2 * _pairs, size, controlSize, _memory);
        vfio.MapMemory(rings.Region);
        foreach (var r in _pool!.Regions) vfio.MapMemory(r);
        var mapped = new MappedMemory([.. _pool.Regions.Select(r => ((ulong)r.Base, r.Length))]);
        ulong zeroHeader = rings.Region.VaToIova(rings.ZeroHeader);

        var rx = new VirtioNetRxQueue[_pairs];
        var tx = new VirtioNetTxQueue[_pairs];
        var bells = new List<MmioDoorbell>();
        var all = new List<VirtioNetQueue>();
        for (int p = 0; p < _pairs; p++)
        {
            int ri = 2 * p, ti = 2 * p + 1;   // §5.1.2: receiveqN is 2(N-1), transmitqN is 2(N-1)+1
            var rxAt = new QueueAddressing(SetUp(t, ri, rings, packed, bells), UseIova: true);
            var txAt = new QueueAddressing(SetUp(t, ti, rings, packed, bells), UseIova: true);
            // Each queue joins `all` as soon as it exists, so a failure further on frees its buffers.
            all.Add(rx[p] = VirtioNetQueues.Rx(rings, ri, packed, mergeable, inOrder, _pool, Id, rxAt));
            _all = [.. all];
            all.Add(tx[p] = VirtioNetQueues.Tx(rings, ti, packed, inOrder, mapped, zeroHeader, txAt));
            _all = [.. all];
        }
        MmioDoorbell? controlBell = null;
        if (controlIndex >= 0)
        {
            controlBell = SetUpControl(t, controlIndex, rings, packed);
            bells.Add(controlBell);
            ulong buffer = rings.Region.VaToIova(rings.ControlBuffer);
            _control = packed ? new ControlQueue(rings.ControlPacked(), rings.ControlBuffer, buffer) : new ControlQueue(rings.ControlSplit(), rings.ControlBuffer, buffer);
        }

        t.DriverOk();
        if (t.NeedsReset) throw new VirtioPciException("device set DEVICE_NEEDS_RESET right after DRIVER_OK");
        foreach (var b in bells) b.Arm();
        // §5.1.6.5.5: with MQ only the first pair runs until the driver asks for more, after DRIVER_OK.
        if (_control is not null && !_control.SetQueuePairs((ushort)_pairs, controlBell!.Ring))
            throw new VirtioPciException($"device did not acknowledge MQ_VQ_PAIRS_SET {_pairs} on its control queue ({_control.Describe()})");
        foreach (var q in rx) q.Wake();
        _tx = tx;
        _rx = rx;
        EngineLog.Info($"VIRTIO_PCI({Name})", $"{_pairs} {(packed ? "packed" : "split")} queue pair(s) of {size}{(controlIndex >= 0 ? $", control queue {controlIndex}" : "")}, {(mergeable ? "mergeable" : "single-buffer")} rx, {(inOrder ? "in-order" : "out-of-order")}, features 0x{_features:x}, mac {Info.Mac}, link {(_config.LinkUp ? "up" : "down")}");
    }

    /// <summary>
    /// VFIO_DEVICE_SET_IRQS: one eventfd on MSI-X vector 0 as the config-change vector (queues keep
    /// NO_VECTOR: we poll them), or on INTx when the device has no MSI-X (QEMU's vectors=0).
    /// </summary>
    void WireInterrupts(VirtioPciTransport t)
    {
        var d = t.Vfio.Device;
        var msix = d.Irq(VfioUapi.PciMsixIrqIndex);
        var intx = d.Irq(VfioUapi.PciIntxIrqIndex);
        int index = msix.Count > 0 && (msix.Flags & VfioUapi.IrqInfoEventfd) != 0 ? VfioUapi.PciMsixIrqIndex
            : intx.Count > 0 && (intx.Flags & VfioUapi.IrqInfoEventfd) != 0 ? VfioUapi.PciIntxIrqIndex : -1;
        if (index < 0) return;
        _irqFd = SystemCallException.Check(Libc.EventFd(0, Libc.EFD_CLOEXEC | Libc.EFD_NONBLOCK), "eventfd", $"{Name} interrupts");
        d.SetIrqEventFds(index, [_irqFd]);
        _irqIndex = index;
        if (index == VfioUapi.PciMsixIrqIndex && !t.SetConfigVector(0))
            EngineLog.Info($"VIRTIO_PCI({Name})", "device refused MSI-X vector 0 for config changes: link changes are seen by polling only");
    }

    /// <summary>Counts what the interrupt eventfd saw; for INTx, reads the ISR (which quiets the device) and unmasks.</summary>
    void ServiceInterrupts()
    {
        lock (_irqLock)
        {
            var t = _transport;
            if (_irqFd < 0 || t is null) return;
            ulong n = Libc.EventFdDrain(_irqFd);
            if (n == 0) return;
            _irqEvents += n;
            if (_irqIndex == VfioUapi.PciIntxIrqIndex)
            {
                if ((t.ReadIsr() & VirtioPciTransport.IsrConfig) != 0) _configChanges++;
                t.Vfio.Device.UnmaskIntx();
            }
            else
            {
                _configChanges += n;   // vector 0 carries config changes only
            }
        }
    }

    void UnwireInterrupts()
    {
        lock (_irqLock)
        {
            if (_irqFd < 0) return;
            if (_irqIndex >= 0) _transport?.Vfio.Device.DisableIrqs(_irqIndex);
            Libc.Close(_irqFd);
            _irqFd = -1;
            _irqIndex = -1;
        }
    }

    /// <summary>
    /// The device's MTU (§5.1.4) as far as we can receive it: without MRG_RXBUF one buffer holds the
    /// header and the whole frame (§5.1.6.3.1), so a larger MTU is cut to what the pool's buffers hold.
    /// </summary>
    int Mtu(int? deviceMtu, bool mergeable, PacketPool pool)
    {
        int mtu = deviceMtu ?? 1500;
        int fits = pool.DataRoom - 18;   // the header goes in the headroom; the frame has the data room, less Ethernet header and VLAN tag
        if (!mergeable && mtu > fits)
        {
            EngineLog.Info($"VIRTIO_PCI({Name})", $"device MTU {mtu} does not fit one {pool.DataRoom} B rx buffer without mergeable buffers: MTU {fits}");
            return fits;
        }
        return mtu;
    }

    /// <summary>
    /// §5.1.2: the control queue follows the last possible data queue, 2 × max_virtqueue_pairs with MQ
    /// (index 2 without). -1 when there is none to use (one pair: no command to send).
    /// </summary>
    int ControlQueueIndex(VirtioPciTransport t)
    {
        if (_pairs == 1) return -1;
        if (!VirtioFeatures.Has(_features, VirtioFeatures.NetMq) || !VirtioFeatures.Has(_features, VirtioFeatures.NetCtrlVq))
            throw new VirtioPciException($"{_pairs} queue pairs asked, but the device offers no multi-queue (VIRTIO_NET_F_MQ and CTRL_VQ; QEMU: -device virtio-net-pci,mq=on and -netdev ...,queues={_pairs})");
        if (_config.MaxVirtqueuePairs is not int max)
            throw new VirtioPciException("device config max_virtqueue_pairs is outside 1..0x8000");
        if (_pairs > max)
            throw new VirtioPciException($"{_pairs} queue pairs asked, the device has {max}: use --rxq/--txq {max} or fewer");
        int index = 2 * max;
        if (index >= t.QueueCount)
            throw new VirtioPciException($"device has {t.QueueCount} queues, no control queue at {index}");
        return index;
    }

    /// <summary>
    /// The device's maximum over the data queues we use, capped and rounded down to a power of two
    /// (split rings need one, §2.7; our packed queues keep the same size for one ring layout).
    /// </summary>
    static int QueueSize(VirtioPciTransport t, int queues, bool packed)
    {
        int max = MaxQueueSize;
        for (int i = 0; i < queues; i++) max = Math.Min(max, t.MaxQueueSize(i));
        if (max < 2) throw new VirtioPciException($"device offers no usable {(packed ? "packed" : "split")} data queue (size {max})");
        return 1 << (31 - int.LeadingZeroCount(max));
    }

    static int ControlSize(VirtioPciTransport t, int index, bool packed)
    {
        int max = t.MaxQueueSize(index);
        if (max < 2) throw new VirtioPciException($"device offers no usable control queue at {index} (size {max})");
        return Math.Min(ControlQueueSize, 1 << (31 - int.LeadingZeroCount(max)));
    }

    /// <summary>Programs data queue <paramref name="index"/> with its ring's IOVAs and returns its (unarmed) doorbell.</summary>
    static MmioDoorbell SetUp(VirtioPciTransport t, int index, VirtqRings rings, bool packed, List<MmioDoorbell> bells)
    {
        var bell = packed ? SetUp(t, index, rings.Region, rings.Packed(index)) : SetUp(t, index, rings.Region, rings.Split(index));
        bells.Add(bell);
        return bell;
    }

    static MmioDoorbell SetUpControl(VirtioPciTransport t, int index, VirtqRings rings, bool packed) =>
        packed ? SetUp(t, index, rings.Region, rings.ControlPacked()) : SetUp(t, index, rings.Region, rings.ControlSplit());

    static MmioDoorbell SetUp(VirtioPciTransport t, int index, HugepageRegion region, SplitRing ring)
    {
        ulong desc = Iova(region, ring.Desc, 16 * ring.Size);
        ulong avail = Iova(region, ring.Avail, 6 + 2 * ring.Size);
        ulong used = Iova(region, ring.Used, 6 + 8 * ring.Size);
        return new MmioDoorbell(t.SetUpQueue(index, ring.Size, desc, avail, used), (ushort)index);
    }

    /// <summary>§4.1.4.3: for a packed ring queue_driver and queue_device hold the two event suppression areas (§2.8.10).</summary>
    static MmioDoorbell SetUp(VirtioPciTransport t, int index, HugepageRegion region, PackedRing ring)
    {
        ulong desc = Iova(region, ring.Desc, PackedDescriptor.Size * ring.Size);
        ulong driver = Iova(region, ring.DriverEvent, sizeof(PackedEventSuppression));
        ulong device = Iova(region, ring.DeviceEvent, sizeof(PackedEventSuppression));
        return new MmioDoorbell(t.SetUpQueue(index, ring.Size, desc, driver, device), (ushort)index);
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

    /// <summary>Reset first, so the device stops DMA (§3.3.1), close it, then free what it could touch.</summary>
    void Teardown()
    {
        _rx = null;
        _tx = null;
        if (_transport is not null)
        {
            try { _transport.Reset(); } catch (VirtioPciException e) { EngineLog.Info($"VIRTIO_PCI({Name})", e.Message); }
        }
        UnwireInterrupts();
        // Closing the device (VFIO disables it: no more bus mastering) and dropping its DMA mappings
        // come before the buffers go back to the pool and the rings are freed, even if the reset
        // above failed: a device that ignores reset cannot write into memory we reuse.
        _transport?.Dispose();
        _transport = null;
        foreach (var q in _all) q.Dispose();
        _all = [];
        _control = null;
        _rings?.Dispose();
        _rings = null;
    }

    protected override void AddExtendedStats(List<KeyValuePair<string, ulong>> stats)
    {
        foreach (var q in _all)
        {
            stats.Add(new($"q{q.VringIndex}_hostile_values", q.HostileValues));
            stats.Add(new($"q{q.VringIndex}_kicks", q.Kicks));
        }
        if (_control is not null) stats.Add(new("ctrl_hostile_values", _control.HostileValues));
        ServiceInterrupts();
        stats.Add(new("irq_events", _irqEvents));
        stats.Add(new("config_change_irqs", _configChanges));
    }
}
