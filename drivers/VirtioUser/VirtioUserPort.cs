using Datapath.Drivers.VirtioNet;
using Datapath.Drivers.VhostUser;
using Datapath.Engine.Logging;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Drivers.VirtioUser;

/// <summary>
/// net_virtio_user: the engine as a virtio-net driver whose device is any vhost-user backend
/// (DPDK drivers/net/virtio/virtio_user_ethdev.c). We own the virtqueues, in our hugepage memory,
/// and hand them with our memory table to the backend; the backend may restart at any time and
/// the link follows it. Rx/tx paths are chosen once, at the first handshake.
/// </summary>
public sealed class VirtioUserPort : Port
{
    public const string DriverName = "net_virtio_user";
    const int ControlQueueSize = 16;

    readonly VirtioUserArgs _args;
    readonly MemoryOptions _memory;
    PacketPool? _pool;
    VirtqRings? _rings;
    MappedMemory? _mapped;
    VirtioUserConnection? _connection;
    ControlQueue? _controlQueue;
    ControlQueueEmulator? _controlEmulator;
    VhostUserFrontend? _frontend;              // the backend being set up (control thread only)
    VirtioNetQueue[] _all = [];
    volatile VirtioNetRxQueue[]? _rx;
    volatile VirtioNetTxQueue[]? _tx;
    volatile bool _linkUp;
    ulong _features;                           // negotiated at the first handshake; later backends must offer them
    bool _protocolFeatures;
    int _pairs;

    public VirtioUserPort(string name, VirtioUserArgs args, MemoryOptions memory) : base(name)
    {
        _args = args;
        _memory = memory;
    }

    public static readonly VdevDriver Driver = new(DriverName, VirtioUserArgs.Keys, VirtioUserArgs.Usage,
        (args, ctx) => new VirtioUserPort(args.Name, VirtioUserArgs.Parse(args, MacAddress.Local(0x90 + ctx.Ports.Count)), ctx.Memory));

    public VirtioUserArgs Args => _args;

    /// <summary>The features negotiated with the backend (0 before the first handshake).</summary>
    public ulong NegotiatedFeatures => _features;

    public override PortInfo Info => new()
    {
        DriverName = DriverName,
        DeviceName = Name,
        Mac = _args.Mac,
        MaxRxQueues = _args.QueuePairs,
        MaxTxQueues = _args.QueuePairs,
        // The ring size is queue_size (a device property, as in DPDK); descriptor counts are not used.
        MinDescriptors = 1,
        MaxDescriptors = 65536,
        Capabilities = PortCapabilities.MultiSegment | PortCapabilities.Promiscuous,
    };

    public override LinkStatus Link => _linkUp && State == PortState.Started ? new LinkStatus(true) : LinkStatus.Down;

    protected override void OnConfigure(PortConfig config)
    {
        if (config.Pool.Headroom < VirtioNetHeaderSize)
            throw new PortConfigException($"{Name}: pool headroom {config.Pool.Headroom} B cannot hold the 12-byte virtio-net header");
        _pool = config.Pool;
        _pairs = Math.Max(config.RxQueues, config.TxQueues);
    }

    const int VirtioNetHeaderSize = Virtio.VirtioNetHeader.Size;

    protected override unsafe void OnStart()
    {
        _rings = new VirtqRings(Name, 2 * _pairs, _args.QueueSize, _args.ControlQueue ? ControlQueueSize : 0, _memory);
        _mapped = new MappedMemory([((ulong)_rings.Region.Base, _rings.Region.Length), ((ulong)_pool!.Region.Base, _pool.Region.Length)]);
        _connection = new VirtioUserConnection(_args.Path, _args.Server, Name, Connect, Disconnected, StopBackend);
        try { _connection.Start(TimeSpan.FromSeconds(5)); }
        catch (IOException e)
        {
            FreeQueues();
            throw new PortConfigException($"{Name}: {e.Message}");
        }
    }

    protected override void OnStop()
    {
        _connection?.Stop();
        _connection = null;
        _linkUp = false;
        FreeQueues();
    }

    protected override void OnClose() => OnStop();

    void FreeQueues()
    {
        _rx = null;
        _tx = null;
        foreach (var q in _all) q.Dispose();
        _all = [];
        _controlQueue = null;
        _controlEmulator = null;
        _features = 0;
        _rings?.Dispose();
        _rings = null;
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

    // ---- control thread: one backend's handshake (vhost-user.rst, "Starting and stopping rings") ----

    void Connect(VhostUserFrontend frontend)
    {
        _frontend = frontend;
        var offered = VirtioUserHandshake.Negotiate(frontend, _args, _pairs, out _protocolFeatures);
        if (_features == 0)
        {
            _features = VirtioUserHandshake.ChooseFeatures(offered, _args.WantedFeatures());
            CreateQueues();
        }
        else if ((offered & _features) != _features)
        {
            throw new VhostUserProtocolException($"backend offers features 0x{offered:x} without 0x{_features & ~offered:x} negotiated before: the queues were built for them");
        }
        else if (Virtio.VirtioFeatures.Has(_features, Virtio.VirtioFeatures.RingPacked))
        {
            // A packed ring the old back-end used out of order cannot be resumed exactly: start the
            // rings again as new (what was in them is freed and counted lost), as DPDK's virtio-user does.
            foreach (var q in _all) q.Reset(TimeSpan.FromMilliseconds(200));
        }
        frontend.SetU64(VhostUserRequest.SetFeatures, _features | (_protocolFeatures ? VhostUserFeatureBits.ProtocolFeatures : 0));
        VirtioUserHandshake.SendMemoryTable(frontend, [_rings!.Region, _pool!.Region]);
        foreach (var q in _all) VirtioUserHandshake.SetUpVring(frontend, q);
        // vhost-user.rst, "Multiple queue support": rings start disabled when protocol features are
        // negotiated; the first pair is enabled now, the others by MQ_VQ_PAIRS_SET (virtio 1.2 §5.1.6.5.5).
        EnablePairs(1);
        if (_controlQueue is not null && !_controlQueue.SetQueuePairs((ushort)_pairs, _controlEmulator!.Process))
            throw new VhostUserProtocolException($"MQ_VQ_PAIRS_SET {_pairs} was not acknowledged");
        foreach (var q in _all) q.Wake();
        _linkUp = true;
        _frontend = null;
    }

    bool EnablePairs(int pairs)
    {
        if (!_protocolFeatures) return true;
        for (int p = 0; p < _pairs; p++)
        {
            _frontend!.SetVringState(VhostUserRequest.SetVringEnable, (uint)(2 * p), p < pairs ? 1u : 0u);
            _frontend.SetVringState(VhostUserRequest.SetVringEnable, (uint)(2 * p + 1), p < pairs ? 1u : 0u);
        }
        return true;
    }

    unsafe void CreateQueues()
    {
        bool inOrder = Virtio.VirtioFeatures.Has(_features, Virtio.VirtioFeatures.InOrder);
        bool mergeable = Virtio.VirtioFeatures.Has(_features, Virtio.VirtioFeatures.NetMrgRxbuf);
        bool packed = Virtio.VirtioFeatures.Has(_features, Virtio.VirtioFeatures.RingPacked);
        var rx = new VirtioNetRxQueue[_pairs];
        var tx = new VirtioNetTxQueue[_pairs];
        var all = new List<VirtioNetQueue>();
        for (int p = 0; p < _pairs; p++)
        {
            uint rxIndex = (uint)(2 * p), txIndex = (uint)(2 * p + 1);
            var r = _rings!;
            rx[p] = VirtioNetQueues.Rx(r, (int)rxIndex, packed, mergeable, inOrder, _pool!, Id);
            tx[p] = VirtioNetQueues.Tx(r, (int)txIndex, packed, inOrder, _mapped!, (ulong)r.ZeroHeader);
            all.Add(rx[p]);
            all.Add(tx[p]);
        }
        if (_args.ControlQueue)
        {
            // The control queue never reaches the backend (vhost-user net backends leave it to the
            // front-end; our emulator plays its device in this process), so its format is invisible
            // to the peer: it stays split even with VIRTIO_F_RING_PACKED.
            _controlQueue = new ControlQueue(_rings!.ControlSplit(), _rings.ControlBuffer, (ulong)_rings.ControlBuffer);
            _controlEmulator = new ControlQueueEmulator(_rings.ControlSplit(), _rings.Region.Base, _rings.Region.Length,
                pairs => pairs <= _pairs && EnablePairs(pairs));
        }
        _all = all.ToArray();
        EngineLog.Info($"VIRTIO_USER({Name})", $"{_pairs} {(packed ? "packed" : "split")} queue pair(s) of {_args.QueueSize}, {(mergeable ? "mergeable" : "single-buffer")} rx, {(inOrder ? "in-order" : "out-of-order")}, features 0x{_features:x}");
        _tx = tx;
        _rx = rx;
    }

    void Disconnected() => _linkUp = false;

    /// <summary>Port stop with a live backend: disable the rings and take their indexes back (GET_VRING_BASE).</summary>
    void StopBackend(VhostUserFrontend frontend)
    {
        _frontend = frontend;
        EnablePairs(0);
        foreach (var q in _all)
        {
            uint last = frontend.GetVringBase(q.VringIndex);
            EngineLog.Info($"VIRTIO_USER({Name})", $"vring {q.VringIndex} stopped at {last}");
        }
        _frontend = null;
    }

    protected override void AddExtendedStats(List<KeyValuePair<string, ulong>> stats)
    {
        var rx = _rx;
        var tx = _tx;
        if (rx is not null)
            for (int q = 0; q < rx.Length; q++)
            {
                stats.Add(new($"rx_q{q}_hostile_values", rx[q].HostileValues));
                stats.Add(new($"rx_q{q}_kicks", rx[q].Kicks));
            }
        if (tx is not null)
            for (int q = 0; q < tx.Length; q++)
            {
                stats.Add(new($"tx_q{q}_hostile_values", tx[q].HostileValues));
                stats.Add(new($"tx_q{q}_kicks", tx[q].Kicks));
                stats.Add(new($"tx_q{q}_unsendable", tx[q].Unsendable));
            }
        stats.Add(new("backend_connections", _connection?.Connections ?? 0));
    }
}
