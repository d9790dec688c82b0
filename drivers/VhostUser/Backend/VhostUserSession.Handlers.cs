using System.Runtime.InteropServices;
using Datapath.Drivers.Sockets;
using Datapath.Drivers.Virtio;
using Datapath.Engine.Logging;
using Datapath.Engine.Net;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>The dispatch table and one handler per front-end request (vhost-user.rst, "Front-end message types").</summary>
public sealed partial class VhostUserSession
{
    /// <summary>The log's mapping, from the fd's start (unmapped as a whole), and where in it the bitmap starts.</summary>
    nint _logBase;
    ulong _logSize;
    ulong _logOffset;
    UnixFdSocket? _backendChannel;
    readonly Iotlb _iotlb;

    // The table is the documentation: request, fds it may carry, quiesce first, has its own reply.
    IEnumerable<VhostRequestHandler> BuildTable() =>
    [
        new(VhostUserRequest.GetFeatures,         0, false, true,  m => _channel.Reply(m, _config.Features)),
        new(VhostUserRequest.SetFeatures,         0, true,  false, SetFeatures),
        new(VhostUserRequest.GetProtocolFeatures, 0, false, true,  m => _channel.Reply(m, (ulong)_config.ProtocolFeatures)),
        new(VhostUserRequest.SetProtocolFeatures, 0, false, false, SetProtocolFeatures),
        new(VhostUserRequest.SetOwner,            0, false, false, _ => { }),
        new(VhostUserRequest.ResetOwner,          0, true,  false, _ => ResetRings()),
        new(VhostUserRequest.SetMemTable,         8, true,  false, SetMemTable),
        new(VhostUserRequest.GetMaxMemSlots,      0, false, true,  m => _channel.Reply(m, (ulong)_config.MaxMemSlots)),
        new(VhostUserRequest.AddMemReg,           1, true,  false, AddMemReg),
        new(VhostUserRequest.RemMemReg,           1, true,  false, RemMemReg),
        new(VhostUserRequest.SetLogBase,          1, true,  true,  SetLogBase),
        new(VhostUserRequest.SetLogFd,            1, false, false, m => ReplaceFd(ref _logEventFd, m)),
        new(VhostUserRequest.SetVringNum,         0, true,  false, SetVringNum),
        new(VhostUserRequest.SetVringAddr,        0, true,  false, SetVringAddr),
        new(VhostUserRequest.SetVringBase,        0, true,  false, SetVringBase),
        new(VhostUserRequest.GetVringBase,        0, true,  true,  GetVringBase),
        new(VhostUserRequest.SetVringKick,        1, true,  false, m => SetVringFd(m, VringFd.Kick)),
        new(VhostUserRequest.SetVringCall,        1, true,  false, m => SetVringFd(m, VringFd.Call)),
        new(VhostUserRequest.SetVringErr,         1, false, false, m => SetVringFd(m, VringFd.Err)),
        new(VhostUserRequest.GetQueueNum,         0, false, true,  m => _channel.Reply(m, (ulong)_config.QueuePairs)),
        new(VhostUserRequest.SetVringEnable,      0, true,  false, SetVringEnable),
        new(VhostUserRequest.SendRarp,            0, false, false, SendRarp),
        new(VhostUserRequest.NetSetMtu,           0, false, false, NetSetMtu),
        new(VhostUserRequest.SetBackendReqFd,     1, false, false, SetBackendReqFd),
        new(VhostUserRequest.IotlbMsg,            0, false, false, IotlbMsg), // quiesces itself for invalidations
        new(VhostUserRequest.GetConfig,           0, false, true,  GetConfig),
        new(VhostUserRequest.SetConfig,           0, false, false, _ => { }),
        new(VhostUserRequest.GetStatus,           0, false, true,  m => _channel.Reply(m, (ulong)DeviceStatus)),
        new(VhostUserRequest.SetStatus,           0, false, false, m => DeviceStatus = (byte)m.ReadU64()),
    ];

    int _logEventFd = -1;

    /// <summary>ADD_MEM_REG requests taken (CONFIGURE_MEM_SLOTS front-ends), for xstats.</summary>
    public long MemRegionsAdded { get; private set; }

    void SetFeatures(VhostUserMessage m)
    {
        ulong f = m.ReadU64();
        ulong unknown = f & ~_config.Features;
        if (unknown != 0) throw new VhostUserProtocolException($"peer acked features 0x{unknown:x} that were not offered");
        AckedFeatures = f;
        // Without protocol features rings are enabled as soon as they start (vhost-user.rst "Ring states").
        if (!HasFeature(VhostUserFeatureBits.ProtocolFeatures))
            foreach (var v in _vrings) v.Enabled = true;
    }

    void SetProtocolFeatures(VhostUserMessage m)
    {
        ulong f = m.ReadU64();
        ulong unknown = f & ~(ulong)_config.ProtocolFeatures;
        if (unknown != 0) throw new VhostUserProtocolException($"peer acked protocol features 0x{unknown:x} that were not offered");
        AckedProtocolFeatures = (VhostUserProtocolFeatures)f;
    }

    void ResetRings()
    {
        foreach (var v in _vrings) v.Reset();
        AckedFeatures = 0;
    }

    /// <summary>SET_MEM_TABLE: u32 nregions, u32 padding, then nregions region descriptions, one fd each.</summary>
    void SetMemTable(VhostUserMessage m)
    {
        uint n = m.Read<uint>();
        if (n == 0 || n > VhostUserLimits.MaxMemTableRegions)
            throw new VhostUserProtocolException($"peer sent SET_MEM_TABLE with {n} regions (1..{VhostUserLimits.MaxMemTableRegions})");
        if (m.FdCount != n) throw new VhostUserProtocolException($"peer sent SET_MEM_TABLE with {n} regions but {m.FdCount} fds");
        int size = Marshal.SizeOf<MemoryRegionDescription>();
        var descs = new MemoryRegionDescription[n];
        for (int i = 0; i < n; i++) descs[i] = m.Read<MemoryRegionDescription>(8 + i * size);
        var mapped = new List<GuestMemoryTable.Region>();
        try
        {
            for (int i = 0; i < n; i++) mapped.Add(GuestMemoryTable.MapRegion(descs[i], m.TakeFd(i), mapped));
        }
        catch
        {
            foreach (var r in mapped) GuestMemoryTable.Unmap(r);
            throw;
        }
        foreach (var r in _regions) GuestMemoryTable.Unmap(r);
        _regions.Clear();
        _duplicateAdds.Clear();
        _regions.AddRange(mapped);
        _memory = GuestMemoryTable.From(_regions);
        EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) guest memory: {_memory}");
    }

    // QEMU before 8.1 sends ADD_MEM_REG/REM_MEM_REG once per vhost device, so a multi-queue NIC adds
    // every region once per queue pair: an identical region is counted, not refused, and mapped once.
    readonly Dictionary<GuestMemoryTable.Region, int> _duplicateAdds = new();

    void AddMemReg(VhostUserMessage m)
    {
        var d = m.Read<MemoryTableEntry>().Region;
        var same = _regions.FindIndex(r => r.GuestPhysAddr == d.GuestPhysAddr && r.Size == d.MemorySize && r.UserAddr == d.UserspaceAddr && r.MmapOffset == d.MmapOffset);
        if (same >= 0)
        {
            Libc.Close(m.TakeFd(0));
            _duplicateAdds[_regions[same]] = _duplicateAdds.GetValueOrDefault(_regions[same]) + 1;
            return;
        }
        if (_regions.Count >= _config.MaxMemSlots) throw new VhostUserProtocolException($"peer sent ADD_MEM_REG beyond {_config.MaxMemSlots} slots");
        var r = GuestMemoryTable.MapRegion(d, m.TakeFd(0), _regions);
        _regions.Add(r);
        MemRegionsAdded++;
        _memory = GuestMemoryTable.From(_regions);
    }

    void RemMemReg(VhostUserMessage m)
    {
        var d = m.Read<MemoryTableEntry>().Region;
        int i = _regions.FindIndex(r => r.GuestPhysAddr == d.GuestPhysAddr && r.Size == d.MemorySize && r.UserAddr == d.UserspaceAddr);
        if (i < 0) throw new VhostUserProtocolException($"peer sent REM_MEM_REG for unknown region 0x{d.GuestPhysAddr:x}+0x{d.MemorySize:x}");
        if (_duplicateAdds.TryGetValue(_regions[i], out int extra))
        {
            if (extra > 1) _duplicateAdds[_regions[i]] = extra - 1;
            else _duplicateAdds.Remove(_regions[i]);
            return;
        }
        GuestMemoryTable.Unmap(_regions[i]);
        _regions.RemoveAt(i);
        _memory = GuestMemoryTable.From(_regions);
    }

    /// <summary>SET_LOG_BASE: the dirty-page log for live migration, mapped from its fd; replied with u64 0.</summary>
    void SetLogBase(VhostUserMessage m)
    {
        var d = m.Read<LogDescription>();
        int fd = m.TakeFd(0);
        try
        {
            if (d.MmapSize == 0 || d.MmapOffset + d.MmapSize < d.MmapOffset) throw new VhostUserProtocolException("peer sent SET_LOG_BASE with an empty or wrapping log");
            // The log is set a 32-bit word at a time with a locked OR (DirtyLog): its words must be aligned.
            if (d.MmapOffset % 8 != 0) throw new VhostUserProtocolException($"peer sent SET_LOG_BASE at offset {d.MmapOffset}, not a multiple of 8");
            if (!Libc.TryFstat(fd, out var st) || d.MmapOffset + d.MmapSize > st.Size)
                throw new VhostUserProtocolException($"peer sent SET_LOG_BASE for {d.MmapSize} bytes at {d.MmapOffset} beyond its fd");
            nint p = Libc.Mmap(0, (nuint)(d.MmapOffset + d.MmapSize), Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
            if (p == Libc.MAP_FAILED) throw new VhostUserProtocolException("cannot map the dirty log");
            // Replace only the old log mapping: CloseLog would also close SET_LOG_FD's fd and the backend channel.
            if (_logBase != 0) Libc.Munmap(_logBase, (nuint)_logSize);
            _logBase = p;
            _logSize = d.MmapOffset + d.MmapSize;
            // The bitmap starts mmap_offset bytes into the fd (vhost-user.rst, SET_LOG_BASE).
            _logOffset = d.MmapOffset;
        }
        finally
        {
            Libc.Close(fd);
        }
        _channel.Reply(m, 0UL);
    }

    void CloseLog()
    {
        if (_logBase != 0) Libc.Munmap(_logBase, (nuint)_logSize);
        _logBase = 0;
        VhostVring.CloseFd(ref _logEventFd);
        _backendChannel?.Dispose();
        _backendChannel = null;
    }

    void SetVringNum(VhostUserMessage m)
    {
        var s = m.Read<VringState>();
        var v = Vring(s.Index, m.Request);
        // §2.7: a split ring's size is a power of two; §2.8: a packed ring's is any size up to 32768.
        bool ok = Packed ? s.Num is >= 1 and <= SplitRingLayout.MaxQueueSize : SplitRingLayout.IsValidQueueSize((int)Math.Min(s.Num, int.MaxValue));
        if (!ok)
            throw new VhostUserProtocolException($"peer sent SET_VRING_NUM {s.Num} for vring {s.Index} ({(Packed ? "1.." : "a power of two, max ")}{SplitRingLayout.MaxQueueSize})");
        v.Num = (int)s.Num;
    }

    void SetVringAddr(VhostUserMessage m)
    {
        var a = m.Read<VringAddress>();
        var v = Vring(a.Index, m.Request);
        v.Addresses = a;
        v.HasAddresses = true;
    }

    void SetVringBase(VhostUserMessage m)
    {
        var s = m.Read<VringState>();
        var v = Vring(s.Index, m.Request);
        if (!Packed && s.Num > ushort.MaxValue) throw new VhostUserProtocolException($"peer sent SET_VRING_BASE {s.Num} for vring {s.Index} (a 16-bit index)");
        // Packed bases are checked against the ring size when the ring starts.
        v.Base = s.Num;
    }

    /// <summary>GET_VRING_BASE stops the ring and tells where it stopped (the next avail index to read).</summary>
    void GetVringBase(VhostUserMessage m)
    {
        var s = m.Read<VringState>();
        var v = Vring(s.Index, m.Request);
        // Quiesced by the table already; the live queue (if it ran) knows how far it got.
        uint last = v.Base;
        v.Started = false;
        v.Base = last;
        VhostVring.CloseFd(ref v.KickFd);
        _channel.Reply(m, new VringState { Index = s.Index, Num = last });
    }

    enum VringFd { Kick, Call, Err }

    /// <summary>SET_VRING_KICK/CALL/ERR: u64 with the index in bits 0–7 and bit 8 set when no fd comes (poll).</summary>
    void SetVringFd(VhostUserMessage m, VringFd which)
    {
        ulong u = m.ReadU64();
        if ((u & ~(VhostUserLimits.VringIndexMask | VhostUserLimits.VringNoFdFlag)) != 0)
            throw new VhostUserProtocolException($"peer sent {m.Request} with unknown bits 0x{u:x}");
        var v = Vring((uint)(u & VhostUserLimits.VringIndexMask), m.Request);
        bool noFd = (u & VhostUserLimits.VringNoFdFlag) != 0;
        if (!noFd && m.FdCount != 1) throw new VhostUserProtocolException($"peer sent {m.Request} for vring {v.Index} without its fd");
        int fd = noFd ? -1 : m.TakeFd(0);
        switch (which)
        {
            case VringFd.Kick:
                VhostVring.CloseFd(ref v.KickFd);
                v.KickFd = fd;
                v.Started = true;
                if (!HasFeature(VhostUserFeatureBits.ProtocolFeatures)) v.Enabled = true;
                break;
            case VringFd.Call:
                // The data path writes this fd: a peer that hands us a full pipe (or saturates an
                // eventfd) must not be able to block an lcore, so the write may fail, never wait.
                if (fd >= 0 && !Libc.SetNonBlocking(fd))
                {
                    Libc.Close(fd);
                    throw new VhostUserProtocolException($"peer sent SET_VRING_CALL for vring {v.Index} with an fd that cannot be made non-blocking");
                }
                VhostVring.CloseFd(ref v.CallFd);
                v.CallFd = fd;
                break;
            case VringFd.Err:
                VhostVring.CloseFd(ref v.ErrFd);
                v.ErrFd = fd;
                break;
        }
    }

    void SetVringEnable(VhostUserMessage m)
    {
        var s = m.Read<VringState>();
        var v = Vring(s.Index, m.Request);
        if (s.Num > 1) throw new VhostUserProtocolException($"peer sent SET_VRING_ENABLE {s.Num} for vring {s.Index} (0 or 1)");
        v.Enabled = s.Num == 1;
    }

    void SendRarp(VhostUserMessage m)
    {
        if (m.PayloadSize < 6) throw new VhostUserProtocolException("peer sent SEND_RARP without a MAC");
        PendingRarp = new MacAddress(m.Body[..6]);
    }

    void NetSetMtu(VhostUserMessage m)
    {
        ulong mtu = m.ReadU64();
        if (mtu < 68 || mtu > 65535) throw new VhostUserProtocolException($"peer sent NET_SET_MTU {mtu} (68..65535)");
        Mtu = (int)mtu;
    }

    void SetBackendReqFd(VhostUserMessage m)
    {
        _backendChannel?.Dispose();
        _backendChannel = new UnixFdSocket(m.TakeFd(0));
        // IOTLB misses are sent from the control thread: a front-end that stops reading them must not hang it.
        _backendChannel.SetTimeouts(VhostNetPort.PeerTimeout);
    }

    /// <summary>
    /// IOTLB_MSG from the front-end. An update only adds translations and is published copy-on-write
    /// while the rings run; an invalidation quiesces them first, so no burst uses a withdrawn mapping.
    /// </summary>
    void IotlbMsg(VhostUserMessage m)
    {
        var msg = m.Read<IotlbMessage>();
        if (!HasFeature(VirtioFeatures.AccessPlatform))
            throw new VhostUserProtocolException("peer sent IOTLB_MSG without IOMMU_PLATFORM negotiated");
        switch (msg.Type)
        {
            case IotlbMessage.Update:
                if (s_debug) EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) IOTLB update iova 0x{msg.Iova:x} size 0x{msg.Size:x} uaddr 0x{msg.UserAddr:x} perm {msg.Permission}");
                _iotlb.Update(msg.Iova, msg.Size, msg.UserAddr, msg.Permission);
                break;
            case IotlbMessage.Invalidate:
                // The data path may hold a translation being withdrawn: stop it first.
                QuiesceAll();
                _iotlb.Invalidate(msg.Iova, msg.Size);
                break;
            default: throw new VhostUserProtocolException($"peer sent IOTLB_MSG of type {msg.Type} (update 2 or invalidate 3)");
        }
        // Rings whose addresses missed may start now.
        StartReadyRings();
    }

    /// <summary>
    /// Asks the front-end for the translation the data path missed (back-end IOTLB_MSG, type miss),
    /// over the back-end channel. The front-end answers with an update on the main channel.
    /// </summary>
    public void SendIotlbMiss()
    {
        if (_backendChannel is null || !_iotlb.TakeMiss(out ulong iova)) return;
        if (s_debug) EngineLog.Info("VHOST_CONFIG", $"({_config.Iface}) IOTLB miss iova 0x{iova:x}");
        var channel = new VhostUserChannel(_backendChannel);
        // The page that missed, and (speculatively) the next ones not yet known: guests allocate rx
        // buffers from multi-page blocks (Linux page_frag: 32 KiB), and under a slow front-end each
        // round trip costs milliseconds. A page the front-end cannot translate is simply not answered.
        ulong page = iova & ~0xFFFUL;
        for (int i = 0; i < IotlbPrefetchPages; i++, page += 0x1000)
        {
            if (i > 0 && _iotlb.Contains(page)) continue;
            var miss = new IotlbMessage { Iova = i == 0 ? iova : page, Permission = IotlbMessage.PermReadWrite, Type = IotlbMessage.Miss };
            channel.Send((uint)VhostUserBackendRequest.IotlbMsg, 0, MemoryMarshal.AsBytes(new ReadOnlySpan<IotlbMessage>(in miss)));
        }
    }

    const int IotlbPrefetchPages = 8;

    /// <summary>GET_CONFIG: virtio-net device config (§5.1.4): mac, status, max_virtqueue_pairs, mtu.</summary>
    void GetConfig(VhostUserMessage m)
    {
        var h = m.Read<ConfigHeader>();
        if (h.Size > ConfigHeader.MaxConfigSize || h.Offset > ConfigHeader.MaxConfigSize || h.Offset + h.Size > ConfigHeader.MaxConfigSize)
            throw new VhostUserProtocolException($"peer sent GET_CONFIG for {h.Size} bytes at {h.Offset} (max {ConfigHeader.MaxConfigSize})");
        Span<byte> config = stackalloc byte[ConfigHeader.MaxConfigSize];
        config.Clear();
        _config.Mac.CopyTo(config);
        config[6] = 1; // VIRTIO_NET_S_LINK_UP
        BitConverter.TryWriteBytes(config[8..], (ushort)_config.QueuePairs);
        BitConverter.TryWriteBytes(config[10..], (ushort)Mtu);
        Span<byte> reply = stackalloc byte[12 + (int)h.Size];
        MemoryMarshal.Write(reply, in h);
        config.Slice((int)h.Offset, (int)h.Size).CopyTo(reply[12..]);
        _channel.ReplyBytes(m, reply);
    }

    static void ReplaceFd(ref int slot, VhostUserMessage m)
    {
        VhostVring.CloseFd(ref slot);
        if (m.FdCount > 0) slot = m.TakeFd(0);
    }
}
