using Datapath.Drivers.Sockets;
using Datapath.Engine.Logging;
using Datapath.Engine.Net;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// net_vhost: a vhost-user back-end port (DPDK drivers/net/vhost on lib/vhost). A front-end — QEMU for
/// a guest's virtio-net, or any virtio-user — connects over a UNIX socket and hands over its memory
/// and rings; we do the device side. Engine rx queue q is the guest's transmit vring 2q+1, engine tx
/// queue q the guest's receive vring 2q. The connection comes and goes while the port stays up;
/// its counters survive reconnects.
/// </summary>
public sealed class VhostNetPort : Port
{
    public const int MaxQueuePairs = 16;

    readonly VhostBackendConfig _config;
    readonly VhostVring[] _vrings;
    readonly bool _client;
    Thread? _control;
    volatile bool _stopping;
    volatile bool _running;
    volatile VhostUserSession? _session;
    UnixListener? _listener;
    PacketPool? _pool;
    long _connections, _disconnects, _protocolErrors, _acceptErrors;
    long _rarpMac = -1;

    public VhostNetPort(string name, VhostBackendConfig config, bool client) : base(name)
    {
        _config = config;
        _client = client;
        _vrings = new VhostVring[config.Vrings];
        for (int i = 0; i < _vrings.Length; i++) _vrings[i] = new VhostVring(i);
    }

    public static readonly VdevDriver Driver = new(
        "net_vhost",
        ["iface", "queues", "client", "iommu-support", "postcopy-support", "tso", "linear-buffer", "ext-buffer", "legacy-ol-flags", "dequeue-zero-copy", "mac"],
        "net_vhostN,iface=/path/to.sock[,queues=1][,client=0|1][,iommu-support=0]",
        Create);

    static Port Create(DeviceArgs args, DriverContext ctx)
    {
        string iface = args.Require("iface", "/tmp/vhost0.sock");
        if (System.Text.Encoding.UTF8.GetByteCount(iface) >= 108) throw new DeviceArgsException($"{args.Name}: iface={iface} is longer than a UNIX socket path may be (107 bytes)");
        int queues = (int)args.GetInt("queues", 1, 1, MaxQueuePairs);
        bool client = args.GetBool("client", false);
        bool iommu = args.GetBool("iommu-support", false);
        if (args.GetBool("postcopy-support", false))
            throw new DeviceArgsException($"{args.Name}: postcopy-support=1 is not supported; use postcopy-support=0");
        if (args.GetBool("dequeue-zero-copy", false))
            throw new DeviceArgsException($"{args.Name}: dequeue-zero-copy=1 is not supported (DPDK removed it too); omit it");
        foreach (string k in new[] { "tso", "linear-buffer", "ext-buffer", "legacy-ol-flags" }) args.GetBool(k, false);
        var mac = args.GetString("mac") is { } m ? MacAddress.Parse(m) : MacAddress.Local(0x50 + ctx.Ports.Count);
        return new VhostNetPort(args.Name, new VhostBackendConfig { Iface = iface, QueuePairs = queues, Mac = mac, IommuSupport = iommu }, client);
    }

    public override PortInfo Info => new()
    {
        DriverName = "net_vhost",
        DeviceName = Name,
        Mac = _config.Mac,
        MaxRxQueues = _config.QueuePairs,
        MaxTxQueues = _config.QueuePairs,
        MaxDescriptors = 32768,
        Mtu = _session?.Mtu ?? 1500,
        MaxMtu = 65535,
        Capabilities = PortCapabilities.RxChecksum | PortCapabilities.TxChecksum,
    };

    /// <summary>Up while a front-end is connected and the first queue pair runs (DPDK: new_device).</summary>
    public override LinkStatus Link => _session is not null && _vrings[0].IsLive && _vrings[1].IsLive ? new LinkStatus(true) : LinkStatus.Down;

    public string Iface => _config.Iface;

    protected override void OnConfigure(PortConfig config) => _pool = config.Pool;

    protected override void OnStart()
    {
        if (_control is null)
        {
            if (!_client) _listener = new UnixListener(_config.Iface);
            _stopping = false;
            _control = new Thread(ControlLoop) { IsBackground = true, Name = $"vhost-{Name}" };
            _control.Start();
        }
        _running = true;
    }

    protected override void OnStop() => _running = false;

    protected override void OnClose()
    {
        _running = false;
        _stopping = true;
        _control?.Join();
        _control = null;
        _listener?.Dispose();
        _listener = null;
    }

    public override int RxBurst(int queue, Span<Packet> pkts)
    {
        if (!_running) return 0;
        if (queue == 0 && Volatile.Read(ref _rarpMac) >= 0 && TryInjectRarp(pkts, out int injected)) return injected;
        var vring = _vrings[2 * queue + 1];
        var rt = vring.Enter();
        if (rt is null) return 0;
        int n = VhostDequeue.Burst(rt, _pool!, pkts, Id, ref Counters.Rx(queue));
        vring.Exit();
        return n;
    }

    public override int TxBurst(int queue, ReadOnlySpan<Packet> pkts)
    {
        if (!_running) return 0;
        var vring = _vrings[2 * queue];
        var rt = vring.Enter();
        if (rt is null) return 0;
        int n = VhostEnqueue.Burst(rt, pkts, ref Counters.Tx(queue));
        vring.Exit();
        return n;
    }

    /// <summary>SEND_RARP: announce the guest's MAC once (RFC 903 request) so switches relearn it after migration.</summary>
    bool TryInjectRarp(Span<Packet> pkts, out int n)
    {
        n = 0;
        long mac = Interlocked.Exchange(ref _rarpMac, -1);
        if (mac < 0 || pkts.Length == 0) return false;
        var p = _pool!.Alloc();
        if (p.IsNull) return false;
        RarpFrame.Write(p, MacAddress.FromUInt64((ulong)mac));
        p.Port = Id;
        pkts[0] = p;
        n = 1;
        Counters.Rx(0).Packets++;
        Counters.Rx(0).Bytes += (ulong)p.PacketLength;
        return true;
    }

    /// <summary>
    /// How long the front-end may stall part way through a message, or leave our reply unread, before
    /// the connection is given up: the control thread serves one connection and must not hang on it
    /// (nor Stop, which joins it). A message is sent whole, so any real front-end is far inside this.
    /// </summary>
    internal static readonly TimeSpan PeerTimeout = TimeSpan.FromSeconds(5);

    void ControlLoop()
    {
        bool failing = false;
        while (!_stopping)
        {
            UnixFdSocket? socket;
            try
            {
                socket = _client ? TryConnect() : _listener!.Accept(200);
            }
            catch (SystemCallException e)
            {
                // accept4 out of fds or memory (EMFILE, ENFILE, ENOMEM...): the connection stays in the
                // backlog and the port stays up; try again shortly. An exception leaving this thread
                // would end the process. Logged once per run of failures.
                Interlocked.Increment(ref _acceptErrors);
                if (!failing) EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) {e.Message}: retrying, port {Id} stays up");
                failing = true;
                for (int i = 0; i < 5 && !_stopping; i++) Thread.Sleep(20);
                continue;
            }
            failing = false;
            if (socket is null) continue;
            RunSession(socket);
        }
    }

    UnixFdSocket? TryConnect()
    {
        try
        {
            return UnixFdSocket.Connect(_config.Iface);
        }
        catch (SystemCallException)
        {
            // The front-end is not listening yet (or restarts): try again, as DPDK's reconnect does.
            for (int i = 0; i < 5 && !_stopping; i++) Thread.Sleep(100);
            return null;
        }
    }

    void RunSession(UnixFdSocket socket)
    {
        var session = new VhostUserSession(_config, _vrings, socket);
        Interlocked.Increment(ref _connections);
        EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) new connection ({(_client ? "client" : "server")} mode)");
        _session = session;
        try
        {
            socket.SetTimeouts(PeerTimeout);
            while (!_stopping)
            {
                // Behind a vIOMMU, misses from the data path are sent within a few ms.
                bool iommu = session.UsesIommu;
                if (iommu) session.SendIotlbMiss();
                if (!socket.WaitReadable(iommu ? 2 : 200)) continue;
                session.HandleOne();
                if (session.PendingRarp is { } rarp)
                {
                    Volatile.Write(ref _rarpMac, (long)rarp.ToUInt64());
                    session.PendingRarp = null;
                }
            }
        }
        catch (PeerClosedException)
        {
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) front-end closed the connection");
        }
        catch (PeerStalledException e)
        {
            Interlocked.Increment(ref _protocolErrors);
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) {e.Message} for {PeerTimeout.TotalSeconds} s: connection closed, port {Id} stays up");
        }
        catch (VhostUserProtocolException e)
        {
            Interlocked.Increment(ref _protocolErrors);
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) {e.Message}: connection closed, port {Id} stays up");
        }
        catch (SystemCallException e)
        {
            Interlocked.Increment(ref _protocolErrors);
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) {e.Message}: connection closed, port {Id} stays up");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A fault of ours on a peer's input: still only this connection ends (an exception
            // leaving the control thread would end the process), and the log names it.
            Interlocked.Increment(ref _protocolErrors);
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) unexpected {e.GetType().Name} handling the front-end: {e.Message}: connection closed, port {Id} stays up");
        }
        finally
        {
            _session = null;
            session.Dispose();
            Interlocked.Increment(ref _disconnects);
        }
    }

    protected override void AddExtendedStats(List<KeyValuePair<string, ulong>> stats)
    {
        stats.Add(new("vhost_connections", (ulong)Interlocked.Read(ref _connections)));
        stats.Add(new("vhost_disconnects", (ulong)Interlocked.Read(ref _disconnects)));
        stats.Add(new("vhost_protocol_errors", (ulong)Interlocked.Read(ref _protocolErrors)));
        stats.Add(new("vhost_accept_errors", (ulong)Interlocked.Read(ref _acceptErrors)));
        stats.Add(new("vhost_mem_regions_added", (ulong)(_session?.MemRegionsAdded ?? 0)));
        // Per vring (2q: the guest's rx, 2q+1: its tx): what the peer got wrong, counted, never fatal.
        foreach (var v in _vrings)
        {
            var (bad, oversize, iotlb) = v.Totals();
            stats.Add(new($"vring{v.Index}_bad_descriptors", bad));
            stats.Add(new($"vring{v.Index}_oversize_drops", oversize));
            stats.Add(new($"vring{v.Index}_iotlb_misses", iotlb));
        }
    }

    /// <summary>For tests and the console: is a front-end connected now?</summary>
    public bool Connected => _session is not null;

    /// <summary>The live device-side errors of a vring (hostile-driver counters), for xstats and tests.</summary>
    public Virtio.SplitDeviceErrors? VringErrors(int vring) => _vrings[vring].PeekErrors();
}
