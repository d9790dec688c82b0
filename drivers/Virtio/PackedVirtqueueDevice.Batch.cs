using System.Runtime.CompilerServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

// Device side of a packed virtqueue, available half: four buffers at a time.
public sealed unsafe partial class PackedVirtqueueDevice
{
    /// <summary>Buffers <see cref="TryPopBatch"/> takes at once: the descriptors of one 64-byte cache line.</summary>
    public const int BatchSize = 4;

    /// <summary>
    /// Takes the next <see cref="BatchSize"/> buffers at once when they are the descriptors of one cache
    /// line (the next slot starts a line that lies inside the ring), all available, and each a whole
    /// buffer in one descriptor (neither NEXT nor INDIRECT) with a free id, a non-zero length and an
    /// address that translates (with a flat memory map: into its largest range) — the common case of
    /// a virtio-net transmit ring (DPDK's vhost batch dequeue takes the same shape). The four flags
    /// words are read first, with acquire, then the rest of each descriptor once (§2.8.21.1.1). On
    /// false nothing was taken or counted: the caller goes on with <see cref="TryPop"/>, which takes,
    /// and counts, whatever did not fit here (another range of the map, chains, bad descriptors,
    /// IOTLB misses).
    /// On true, <paramref name="segments"/>[i] and <paramref name="chains"/>[i] describe buffer i.
    /// </summary>
    public bool TryPopBatch(Span<VirtqSegment> segments, Span<VirtqChain> chains)
        => _memory.Flat is { } map
            ? TryPopBatch(new LargestRange(map), segments, chains)
            : TryPopBatch(new ThroughInterface(_memory), segments, chains);

    /// <summary>How the batch translates an address; a struct, so each way is compiled on its own.</summary>
    interface IBatchTranslation
    {
        bool TryTranslate(ulong address, uint length, out nint local);
    }

    /// <summary>
    /// The flat map's largest range, inline, with no call: the JIT keeps values live across a call on
    /// the stack, and spilled nearly every local of the loop below around the translation call it had.
    /// </summary>
    readonly struct LargestRange(GuestAddressMap map) : IBatchTranslation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryTranslate(ulong address, uint length, out nint local) => map.TryTranslateLargest(address, length, out local);
    }

    /// <summary>Anything else (an IOTLB): a call per address.</summary>
    readonly struct ThroughInterface(DescriptorTranslation memory) : IBatchTranslation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryTranslate(ulong address, uint length, out nint local) => memory.TryTranslate(address, length, out local);
    }

    bool TryPopBatch<TTranslation>(TTranslation translation, Span<VirtqSegment> segments, Span<VirtqChain> chains)
        where TTranslation : struct, IBatchTranslation
    {
        int pos = _nextAvail;
        if ((pos & (BatchSize - 1)) != 0 || pos + BatchSize > _size || _size - _slotsInFlight < BatchSize) return false;
        if (segments.Length < BatchSize || chains.Length < BatchSize) return false; // no exceptions on the data path
        PackedDescriptor* d = _ring.Desc + pos;
        bool wrap = _availWrap;
        // The four flags as read, 16 bits each, kept in a register: no stack array (a stackalloc keeps
        // the method out of tiered compilation).
        ulong flags = 0;
        for (int i = 0; i < BatchSize; i++)
        {
            ushort f = Volatile.Read(ref d[i].Flags);
            if (!PackedDescriptor.IsAvailable(f, wrap) || (f & (PackedDescriptor.FlagNext | PackedDescriptor.FlagIndirect)) != 0) return false;
            flags |= (ulong)f << (16 * i);
        }

        InFlightBuffer[] buffers = _buffers;
        int taken = 0;
        for (; taken < BatchSize; taken++)
        {
            // Plain reads: the acquire reads of the flags above keep them after the flags.
            uint len = d[taken].Len;
            ushort id = d[taken].Id;
            if (len == 0 || id >= buffers.Length || buffers[id].InFlight || !translation.TryTranslate(d[taken].Addr, len, out nint local)) goto Undo;
            bool writable = ((flags >> (16 * taken)) & PackedDescriptor.FlagWrite) != 0;
            // In flight at once: a repeated id in the same line fails the check of its second slot.
            buffers[id] = new InFlightBuffer(writable ? len : 0, 1, PackedEventSuppression.OffWrapOf(pos + taken, wrap));
            // Field by field into the caller's arrays: a struct built whole on the stack and copied
            // out is read back as one 16-byte load over four smaller stores, which cannot forward.
            ref VirtqSegment s = ref segments[taken];
            s.Data = (byte*)local;
            s.Length = len;
            s.Writable = writable;
            ref VirtqChain c = ref chains[taken];
            c.Id = id;
            c.Segments = 1;
            c.ReadableBytes = writable ? 0 : len;
            c.WritableBytes = writable ? len : 0;
        }

        _slotsInFlight += BatchSize;
        _nextAvail = pos + BatchSize;
        if (_nextAvail == _size) { _nextAvail = 0; _availWrap = !wrap; }
        return true;

    Undo:
        for (int i = 0; i < taken; i++) buffers[chains[i].Id] = default;
        return false;
    }
}
