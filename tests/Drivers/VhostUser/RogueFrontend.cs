using System.Runtime.InteropServices;
using Datapath.Drivers.Sockets;
using Datapath.Drivers.Virtio;
using Datapath.Drivers.VhostUser;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// A hostile vhost-user front-end: connects to a net_vhost port's socket and speaks raw vhost-user
/// through <see cref="VhostUserChannel"/>, able to send any header, payload and descriptors, well
/// formed or not. Every memfd it creates carries <see cref="Tag"/> in its name, so a test can count
/// exactly the descriptors and mappings of this peer that the port holds (/proc/self/fd, /proc/self/maps)
/// even while other tests run in the same process.
/// </summary>
public sealed unsafe class RogueFrontend : IDisposable
{
    readonly VhostUserChannel _channel;
    readonly VhostUserMessage _reply = new();
    readonly List<(nint Base, ulong Size)> _ownMappings = new();

    /// <summary>Unique per rogue: the name of its memfds ("/memfd:TAG (deleted)" in /proc).</summary>
    public string Tag { get; } = $"rogue-{Guid.NewGuid():N}"[..22];

    RogueFrontend(UnixFdSocket socket) => _channel = new VhostUserChannel(socket);

    /// <summary>Connects to a server-mode port (its listener exists once the port has started).</summary>
    public static RogueFrontend Connect(string socketPath) => new(UnixFdSocket.Connect(socketPath));

    public UnixFdSocket Socket => _channel.Socket;

    // ---- Raw messages ----------------------------------------------------------------------

    /// <summary>Any header (the payload size field may lie about the bytes that follow), any bytes, any fds.</summary>
    public void SendRaw(VhostUserHeader header, ReadOnlySpan<byte> payload = default, ReadOnlySpan<int> fds = default)
    {
        var bytes = new byte[VhostUserHeader.Size + payload.Length];
        MemoryMarshal.Write(bytes, in header);
        payload.CopyTo(bytes.AsSpan(VhostUserHeader.Size));
        Socket.Send(bytes, fds);
    }

    public void Send<T>(VhostUserRequest request, in T payload, ReadOnlySpan<int> fds = default, bool needReply = false) where T : unmanaged =>
        _channel.Send(request, in payload, needReply, fds);

    public void SendBytes(VhostUserRequest request, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default) =>
        _channel.Send((uint)request, 0, payload, fds);

    /// <summary>A request that the port answers with a u64 (GET_FEATURES, GET_PROTOCOL_FEATURES...).</summary>
    public ulong GetU64(VhostUserRequest request)
    {
        _channel.SendEmpty(request);
        return ReceiveReply(request);
    }

    /// <summary>Reads the port's u64 reply to <paramref name="request"/>.</summary>
    public ulong ReceiveReply(VhostUserRequest request)
    {
        _channel.Receive(_reply);
        if (!_reply.Header.IsReply || _reply.Request != request) throw new InvalidOperationException($"expected a reply to {request}, got {_reply}");
        return _reply.ReadU64();
    }

    /// <summary>
    /// Proves the connection is alive and the port has handled everything sent before: requests
    /// are handled in order, so the reply to GET_FEATURES comes after all of them.
    /// </summary>
    public ulong Ping() => GetU64(VhostUserRequest.GetFeatures);

    /// <summary>Waits for the port to close the connection (EOF); false if it answered something instead.</summary>
    public bool WaitHangUp(TimeSpan timeout)
    {
        if (!Socket.WaitReadable((int)timeout.TotalMilliseconds)) return false;
        try
        {
            _channel.Receive(_reply);
            return false;
        }
        catch (PeerClosedException)
        {
            return true;
        }
    }

    // ---- The well-behaved parts of a handshake --------------------------------------------

    /// <summary>GET_FEATURES, SET_OWNER, SET_FEATURES with <paramref name="features"/> (no protocol features: rings enable on kick).</summary>
    public void Negotiate(ulong features)
    {
        Ping();
        _channel.SendEmpty(VhostUserRequest.SetOwner);
        Send(VhostUserRequest.SetFeatures, features);
    }

    public void SetMemTable(GuestMemory memory) => SetMemTable([memory.Region], [memory.Fd]);

    /// <summary>SET_MEM_TABLE with any regions and any fds (the counts need not agree).</summary>
    public void SetMemTable(ReadOnlySpan<MemoryRegionDescription> regions, ReadOnlySpan<int> fds, uint? declaredCount = null)
    {
        var payload = new byte[8 + regions.Length * sizeof(MemoryRegionDescription)];
        BitConverter.TryWriteBytes(payload, declaredCount ?? (uint)regions.Length);
        MemoryMarshal.AsBytes(regions).CopyTo(payload.AsSpan(8));
        SendBytes(VhostUserRequest.SetMemTable, payload, fds);
    }

    /// <summary>NUM, BASE 0, ADDR, KICK (no fd: the port polls), CALL (no fd) for one vring of <paramref name="memory"/>.</summary>
    public void StartVring(GuestMemory memory, GuestRing ring)
    {
        Send(VhostUserRequest.SetVringNum, new VringState { Index = (uint)ring.Index, Num = (uint)ring.Size });
        Send(VhostUserRequest.SetVringBase, new VringState { Index = (uint)ring.Index, Num = 0 });
        Send(VhostUserRequest.SetVringAddr, new VringAddress
        {
            Index = (uint)ring.Index,
            DescUserAddr = memory.UserAddrOf(ring.DescOffset),
            AvailUserAddr = memory.UserAddrOf(ring.AvailOffset),
            UsedUserAddr = memory.UserAddrOf(ring.UsedOffset),
        });
        Send(VhostUserRequest.SetVringKick, (ulong)ring.Index | VhostUserLimits.VringNoFdFlag);
        Send(VhostUserRequest.SetVringCall, (ulong)ring.Index | VhostUserLimits.VringNoFdFlag);
    }

    // ---- Tagged memory and descriptors ------------------------------------------------------

    /// <summary>A memfd named with <see cref="Tag"/>, <paramref name="size"/> bytes long (the caller closes it).</summary>
    public int CreateMemfd(long size)
    {
        int fd = Libc.MemfdCreate(Tag, Libc.MFD_CLOEXEC);
        if (fd < 0) throw new InvalidOperationException("memfd_create failed");
        Libc.Ftruncate(fd, size);
        return fd;
    }

    /// <summary>
    /// Guest memory the rogue shares with the port: a tagged memfd mapped here too, so the rogue can
    /// write rings and descriptors. The guest physical address is <paramref name="guestPhysAddr"/>,
    /// the "front-end user address" the rogue's own VA.
    /// </summary>
    public GuestMemory CreateGuestMemory(ulong size, ulong guestPhysAddr = 0x1_0000_0000)
    {
        int fd = CreateMemfd((long)size);
        nint p = Libc.Mmap(0, (nuint)size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED, fd, 0);
        if (p == Libc.MAP_FAILED) { Libc.Close(fd); throw new InvalidOperationException("mmap of the rogue's memfd failed"); }
        _ownMappings.Add((p, size));
        return new GuestMemory(fd, p, size, guestPhysAddr);
    }

    /// <summary>How many of this rogue's memfds are open in this process: the rogue's own plus the port's.</summary>
    public int OpenFds() => CountFdsNamed(Tag);

    /// <summary>How many mappings of this rogue's memfds exist in this process: the rogue's own plus the port's.</summary>
    public int Mappings() => File.ReadLines("/proc/self/maps").Count(l => l.Contains(Tag, StringComparison.Ordinal));

    /// <summary>Mappings the rogue itself made (the rest belong to the port).</summary>
    public int OwnMappings => _ownMappings.Count;

    public static int CountFdsNamed(string tag)
    {
        int n = 0;
        foreach (var f in Directory.GetFiles("/proc/self/fd"))
        {
            try
            {
                if (new FileInfo(f).LinkTarget is { } target && target.Contains(tag, StringComparison.Ordinal)) n++;
            }
            catch (IOException) { } // closed between listing and reading
        }
        return n;
    }

    public void Dispose()
    {
        _channel.Dispose();
        _reply.CloseFds();
        foreach (var (b, s) in _ownMappings) Libc.Munmap(b, (nuint)s);
        _ownMappings.Clear();
    }
}

/// <summary>A region of the rogue's memory: one memfd, mapped in the rogue at <see cref="Base"/>.</summary>
public sealed unsafe class GuestMemory(int fd, nint @base, ulong size, ulong guestPhysAddr) : IDisposable
{
    public int Fd { get; private set; } = fd;
    public nint Base { get; } = @base;
    public ulong Size { get; } = size;
    public ulong GuestPhysAddr { get; } = guestPhysAddr;

    public MemoryRegionDescription Region => new() { GuestPhysAddr = GuestPhysAddr, MemorySize = Size, UserspaceAddr = (ulong)Base, MmapOffset = 0 };

    public ulong UserAddrOf(ulong offset) => (ulong)Base + offset;
    public ulong GpaOf(ulong offset) => GuestPhysAddr + offset;
    public byte* At(ulong offset) => (byte*)Base + offset;

    /// <summary>Closes the rogue's fd (the mapping stays until the rogue is disposed).</summary>
    public void Dispose()
    {
        if (Fd >= 0) Libc.Close(Fd);
        Fd = -1;
    }
}

/// <summary>
/// The driver side of one split ring, written by hand in <see cref="GuestMemory"/>: whatever
/// descriptors and indexes a test wants, valid or not. The layout (virtio 1.2 §2.7) starts at
/// <see cref="DescOffset"/> in the memory.
/// </summary>
public sealed unsafe class GuestRing
{
    readonly GuestMemory _memory;
    public int Index { get; }
    public int Size { get; }
    public ulong DescOffset { get; }
    public ulong AvailOffset { get; }
    public ulong UsedOffset { get; }

    public GuestRing(GuestMemory memory, int index, int size, ulong offset)
    {
        _memory = memory;
        Index = index;
        Size = size;
        var layout = new SplitRingLayout(size);
        DescOffset = offset;
        AvailOffset = offset + (ulong)layout.AvailOffset;
        UsedOffset = offset + (ulong)layout.UsedOffset;
    }

    VirtqDescriptor* Desc => (VirtqDescriptor*)_memory.At(DescOffset);
    ushort* Avail => (ushort*)_memory.At(AvailOffset);
    byte* Used => _memory.At(UsedOffset);

    public void SetDescriptor(int i, ulong gpa, uint len, ushort flags = 0, ushort next = 0) =>
        Desc[i] = new VirtqDescriptor { Addr = gpa, Len = len, Flags = flags, Next = next };

    public ref VirtqDescriptor Descriptor(int i) => ref Desc[i];

    /// <summary>avail->idx as the driver publishes it.</summary>
    public ushort AvailIdx
    {
        get => Volatile.Read(ref Avail[1]);
        set => Volatile.Write(ref Avail[1], value);
    }

    /// <summary>Puts <paramref name="head"/> in the next avail slot and publishes it (any value: may be out of range).</summary>
    public void Offer(ushort head)
    {
        ushort idx = AvailIdx;
        Avail[2 + (idx & (Size - 1))] = head;
        AvailIdx = (ushort)(idx + 1);
    }

    public ushort UsedIdx => Volatile.Read(ref *(ushort*)(Used + 2));

    public VirtqUsedElement UsedElement(int position) => ((VirtqUsedElement*)(Used + 4))[position & (Size - 1)];
}

/// <summary>
/// A rogue that first behaves: full handshake (features, one memfd of guest memory, both vrings of
/// queue pair 0 running, polled), so a test can then misbehave on the data path. Vring 0 is the
/// guest's receive ring (the port's TxBurst fills it), vring 1 its transmit ring (the port's RxBurst
/// drains it). Buffers are 2 KiB slots from <see cref="BufferArea"/> on.
/// </summary>
public sealed unsafe class RogueGuest : IDisposable
{
    public const int QueueSize = 256;
    public const ulong MemorySize = 1 << 20;
    public const ulong IndirectArea = 0x20000;
    public const ulong BufferArea = 0x40000;
    public const int NetHeader = 12; // VERSION_1

    public RogueFrontend Rogue { get; }
    public GuestMemory Memory { get; }
    public GuestRing Rx { get; }
    public GuestRing Tx { get; }

    RogueGuest(RogueFrontend rogue, GuestMemory memory)
    {
        Rogue = rogue;
        Memory = memory;
        Rx = new GuestRing(memory, 0, QueueSize, 0);
        Tx = new GuestRing(memory, 1, QueueSize, 0x10000);
    }

    /// <summary>Connects, negotiates <paramref name="features"/> (VERSION_1 at least) and starts both rings.</summary>
    public static RogueGuest Start(VhostPortRig rig, ulong features = VirtioFeatures.Version1)
    {
        var rogue = RogueFrontend.Connect(rig.Socket);
        var guest = new RogueGuest(rogue, rogue.CreateGuestMemory(MemorySize));
        rogue.Negotiate(features);
        rogue.SetMemTable(guest.Memory); // the rogue keeps its fd open: it may send the table again
        rogue.StartVring(guest.Memory, guest.Rx);
        rogue.StartVring(guest.Memory, guest.Tx);
        rogue.Ping();
        return guest;
    }

    public ulong BufferGpa(int slot) => Memory.GpaOf(BufferArea + (ulong)slot * 2048);
    public byte* Buffer(int slot) => Memory.At(BufferArea + (ulong)slot * 2048);
    public ulong IndirectGpa(int table) => Memory.GpaOf(IndirectArea + (ulong)table * 4096);
    public VirtqDescriptor* IndirectTable(int table) => (VirtqDescriptor*)Memory.At(IndirectArea + (ulong)table * 4096);

    /// <summary>Writes a zero virtio-net header and a <paramref name="length"/>-byte frame numbered <paramref name="seq"/> into a slot; returns header + frame bytes.</summary>
    public uint WriteFrame(int slot, int seq, int length)
    {
        var b = new Span<byte>(Buffer(slot), NetHeader + length);
        b.Clear();
        var frame = b[NetHeader..];
        for (int i = 0; i < 12; i++) frame[i] = 0x02;
        frame[12] = 0x88; frame[13] = 0xB5;
        BitConverter.TryWriteBytes(frame[14..], seq);
        return (uint)(NetHeader + length);
    }

    /// <summary>Transmits one well-formed frame: descriptor <paramref name="desc"/> → slot <paramref name="slot"/>.</summary>
    public void SendGoodFrame(int desc, int slot, int seq, int length = 60)
    {
        Tx.SetDescriptor(desc, BufferGpa(slot), WriteFrame(slot, seq, length));
        Tx.Offer((ushort)desc);
    }

    /// <summary>Posts one receive buffer of <paramref name="length"/> writable bytes.</summary>
    public void PostRxBuffer(int desc, int slot, uint length = 2048)
    {
        Rx.SetDescriptor(desc, BufferGpa(slot), length, VirtqDescriptor.FlagWrite);
        Rx.Offer((ushort)desc);
    }

    public int ReceivedSeq(int slot) => BitConverter.ToInt32(new ReadOnlySpan<byte>(Buffer(slot) + NetHeader + 14, 4));

    public void Dispose()
    {
        Memory.Dispose();
        Rogue.Dispose();
    }
}
