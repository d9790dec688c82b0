using Datapath.Drivers.Sockets;
using Datapath.Drivers.VhostUser;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Logging;
using Datapath.Engine.Net;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// One front-end connection to a net_vhost port: negotiation, the memory table, the vrings, and the
/// dispatch table that maps each request to its handler (vhost-user.rst, "Front-end message types").
/// Runs on the port's control thread. Anything the peer sends is checked; a request that breaks the
/// protocol throws <see cref="VhostUserProtocolException"/> and the port closes this connection.
/// </summary>
public sealed partial class VhostUserSession : IDisposable
{
    readonly VhostBackendConfig _config;
    readonly VhostVring[] _vrings;
    readonly VhostUserChannel _channel;
    readonly VhostUserMessage _message = new();
    readonly Dictionary<VhostUserRequest, VhostRequestHandler> _table;
    readonly List<GuestMemoryTable.Region> _regions = new();
    GuestMemoryTable _memory = GuestMemoryTable.Empty;

    public ulong AckedFeatures { get; private set; }
    public VhostUserProtocolFeatures AckedProtocolFeatures { get; private set; }
    public byte DeviceStatus { get; private set; }
    public int Mtu { get; private set; } = 1500;
    /// <summary>SEND_RARP: a MAC to announce once from the data path (guest migrated).</summary>
    public MacAddress? PendingRarp { get; set; }
    public GuestMemoryTable Memory => _memory;

    /// <summary>Raised on the control thread when a vring starts or stops carrying traffic.</summary>
    public event Action<VhostVring, bool>? VringStateChanged;

    public VhostUserSession(VhostBackendConfig config, VhostVring[] vrings, UnixFdSocket socket)
    {
        _config = config;
        _vrings = vrings;
        _channel = new VhostUserChannel(socket);
        _table = BuildTable().ToDictionary(h => h.Request);
        _iotlb = new Iotlb(() => _memory);
    }

    public UnixFdSocket Socket => _channel.Socket;

    readonly HashSet<int> _announced = new();

    bool Negotiated(VhostUserProtocolFeatures f) => (AckedProtocolFeatures & f) != 0;
    bool HasFeature(ulong f) => (AckedFeatures & f) != 0;

    /// <summary>Bytes of virtio-net header in front of each frame (§5.1.6.1).</summary>
    public int NetHeaderSize => HasFeature(VirtioFeatures.Version1) || HasFeature(VirtioFeatures.NetMrgRxbuf) ? VirtioNetHeader.Size : VirtioNetHeader.LegacySize;
    public bool Mergeable => HasFeature(VirtioFeatures.NetMrgRxbuf);

    /// <summary>Reads and handles one message. Throws on protocol errors and when the peer hangs up.</summary>
    /// <summary>DATAPATH_VHOST_DEBUG=1 logs every request (DPDK: --log-level=lib.vhost.config:debug).</summary>
    static readonly bool s_debug = Environment.GetEnvironmentVariable("DATAPATH_VHOST_DEBUG") == "1";

    public void HandleOne()
    {
        _channel.Receive(_message);
        if (s_debug) EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) read message {_message}");
        try
        {
            if (!_table.TryGetValue(_message.Request, out var handler))
                throw new VhostUserProtocolException($"peer sent unsupported request {_message.Header.Request}");
            if (_message.FdCount > handler.MaxFds)
                throw new VhostUserProtocolException($"peer sent {_message.Request} with {_message.FdCount} fds (at most {handler.MaxFds})");
            if (handler.Quiesce) QuiesceAll();
            try
            {
                handler.Handle(_message);
            }
            finally
            {
                if (handler.Quiesce) StartReadyRings();
            }
            // REPLY_ACK: a u64 status for requests that have no reply of their own (0 = success).
            if (_message.Header.NeedsReply && !handler.Replies && Negotiated(VhostUserProtocolFeatures.ReplyAck))
                _channel.Reply(_message, 0UL);
        }
        finally
        {
            _message.CloseFds();
        }
    }

    VhostVring Vring(uint index, VhostUserRequest request)
    {
        if (index >= (uint)_vrings.Length)
            throw new VhostUserProtocolException($"peer sent {request} for vring {index} (this port has {_vrings.Length})");
        return _vrings[index];
    }

    /// <summary>Stops every live ring (the data path finishes its burst first).</summary>
    void QuiesceAll()
    {
        foreach (var v in _vrings)
        {
            if (v.Quiesce() is not { } old) continue;
            // Resume from where the data path got to, not from the base it started at.
            v.Base = old.VringBase;
            v.Retire(old);
            VringStateChanged?.Invoke(v, false);
        }
    }

    /// <summary>(Re)builds and publishes every ring that has all it needs to run.</summary>
    void StartReadyRings()
    {
        foreach (var v in _vrings) TryStart(v);
    }

    void TryStart(VhostVring v)
    {
        if (v.IsLive || !v.Started || !v.Enabled || !v.HasAddresses || v.Num == 0 || _memory.Count == 0) return;
        var runtime = BuildRuntime(v);
        if (runtime is null) return;
        v.Publish(runtime);
        // Restarts after every quiescing request (IOTLB updates come by the hundred) stay quiet.
        if (_announced.Add(v.Index))
            EngineLog.Info("VHOST_DATA", $"({_config.Iface}) vring {v.Index} running: {v.Num} entries, base {runtime.VringBase}{(runtime.Packed is null ? "" : ", packed")}");
        VringStateChanged?.Invoke(v, true);
    }

    bool Packed => HasFeature(VirtioFeatures.RingPacked);

    /// <summary>The dirty log, while the front-end migrates (LOG_ALL acked and a log base given).</summary>
    unsafe DirtyLog? ActiveLog => HasFeature(VhostFeatureBits.LogAll) && _logBase != 0 ? new DirtyLog((byte*)_logBase + _logOffset, _logSize - _logOffset) : null;

    static bool LogsUsedRing(in VringAddress a) => (a.Flags & VringAddress.FlagLog) != 0;

    /// <summary>With ACCESS_PLATFORM, ring and descriptor addresses are IOVAs behind the IOTLB.</summary>
    public bool UsesIommu => HasFeature(VirtioFeatures.AccessPlatform);

    IGuestMemory DescriptorMemory => UsesIommu ? _iotlb : _memory;

    /// <summary>A ring address (front-end VA, or IOVA behind the IOTLB) → local pointer.</summary>
    bool TranslateRing(ulong address, ulong length, out nint local)
    {
        if (!UsesIommu) return _memory.TryTranslateUser(address, length, out local);
        local = 0;
        return _iotlb.TryLookup(address, length, IotlbMessage.PermReadWrite, out ulong ua) && _memory.TryTranslateUser(ua, length, out local);
    }

    unsafe VringRuntime? BuildRuntime(VhostVring v)
    {
        var a = v.Addresses;
        if (Packed) return BuildPackedRuntime(v);
        if (!TranslateRing(a.DescUserAddr, (ulong)SplitRingLayout.DescriptorTableBytes(v.Num), out nint desc)
            || !TranslateRing(a.AvailUserAddr, (ulong)SplitRingLayout.AvailRingBytes(v.Num), out nint avail)
            || !TranslateRing(a.UsedUserAddr, (ulong)SplitRingLayout.UsedRingBytes(v.Num), out nint used))
        {
            if (UsesIommu) return null; // an IOTLB miss is on its way to the front-end; the update restarts the ring
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) vring {v.Index}: ring addresses outside guest memory; ring not started");
            return null;
        }
        SplitRing ring;
        try { ring = new SplitRing(v.Num, (byte*)desc, (byte*)avail, (byte*)used); }
        catch (ArgumentException e)
        {
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) vring {v.Index}: {e.Message}; ring not started");
            return null;
        }
        if (v.Base > ushort.MaxValue)
        {
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) vring {v.Index}: base {v.Base} is not a 16-bit split ring index; ring not started");
            return null;
        }
        ushort lastAvail = (ushort)v.Base;
        ushort usedIdx = Volatile.Read(ref *ring.UsedIdx);
        // After a reconnect the used index in guest memory is the truth: resume both from it (as DPDK's vhost does).
        if (usedIdx != lastAvail) lastAvail = usedIdx;
        var queue = new SplitVirtqueueDevice(ring, DescriptorMemory, HasFeature(VirtioFeatures.EventIdx), HasFeature(VirtioFeatures.IndirectDesc), lastAvail, usedIdx);
        queue.DisableAvailNotifications();
        return new VringRuntime(queue, v.CallFd, NetHeaderSize, Mergeable)
        {
            ReadsTxHeader = HasFeature(VirtioFeatures.NetCsum),
            Log = ActiveLog, LogMemory = _memory,
            UsedRingGpa = a.LogGuestAddr, UsedRingBytes = LogsUsedRing(a) ? (ulong)SplitRingLayout.UsedRingBytes(v.Num) : 0,
        };
    }

    /// <summary>
    /// Packed ring (virtio 1.2 §2.8): SET_VRING_ADDR's desc, avail and used addresses are the
    /// descriptor ring and the driver and device event suppression areas; the base carries the
    /// avail wrap counter in bit 15.
    /// </summary>
    unsafe VringRuntime? BuildPackedRuntime(VhostVring v)
    {
        var a = v.Addresses;
        if (!TranslateRing(a.DescUserAddr, (ulong)v.Num * 16, out nint desc)
            || !TranslateRing(a.AvailUserAddr, 4, out nint driverEvent)
            || !TranslateRing(a.UsedUserAddr, 4, out nint deviceEvent))
        {
            if (UsesIommu) return null;
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) vring {v.Index}: packed ring addresses outside guest memory; ring not started");
            return null;
        }
        if (!PackedVringBase.TryDecode(v.Base, v.Num, out ushort lastAvail, out bool wrap))
        {
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) vring {v.Index}: base 0x{v.Base:x} is not a packed ring position below {v.Num}; ring not started");
            return null;
        }
        PackedRing ring;
        try { ring = new PackedRing(v.Num, (byte*)desc, (byte*)driverEvent, (byte*)deviceEvent); }
        catch (ArgumentException e)
        {
            EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) vring {v.Index}: {e.Message}; ring not started");
            return null;
        }
        var queue = new PackedVirtqueueDevice(ring, DescriptorMemory, HasFeature(VirtioFeatures.EventIdx), HasFeature(VirtioFeatures.IndirectDesc), lastAvail, wrap,
            HasFeature(VirtioFeatures.InOrder));
        queue.DisableAvailNotifications();
        // Packed: used descriptors are written in the descriptor ring itself.
        return new VringRuntime(queue, v.CallFd, NetHeaderSize, Mergeable)
        {
            ReadsTxHeader = HasFeature(VirtioFeatures.NetCsum),
            Log = ActiveLog, LogMemory = _memory,
            UsedRingGpa = a.LogGuestAddr, UsedRingBytes = LogsUsedRing(a) ? (ulong)v.Num * 16 : 0,
        };
    }

    /// <summary>Ends the connection: stops the rings, unmaps guest memory, closes every fd it gave us.</summary>
    public void Dispose()
    {
        QuiesceAll();
        _iotlb.Clear();
        foreach (var v in _vrings) v.Reset();
        foreach (var r in _regions) GuestMemoryTable.Unmap(r);
        _regions.Clear();
        _memory = GuestMemoryTable.Empty;
        CloseLog();
        _message.CloseFds();
        _channel.Dispose();
    }

}
