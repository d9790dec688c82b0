using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace Datapath.Drivers.Virtio;

// Device side of a packed virtqueue, available half: four buffers at a time.
public sealed unsafe partial class PackedVirtqueueDevice
{
    /// <summary>Buffers <see cref="TryPopBatch"/> takes at once: the descriptors of one 64-byte cache line.</summary>
    public const int BatchSize = 4;

    /// <summary>
    /// Takes the next <see cref="BatchSize"/> buffers at once when they are the descriptors of one cache
    /// line (the next slot starts a line that lies inside the ring), all available, each a whole buffer
    /// in one descriptor (neither NEXT nor INDIRECT), all four of one direction (WRITE set in all or in
    /// none), each with a free id, a non-zero length and an address that translates (with a flat
    /// memory map: into its largest range) — the common case of a virtio-net ring (DPDK's vhost batch
    /// dequeue takes the same shape). The four flags words are read first, with acquire, then the rest
    /// of each descriptor once (§2.8.21.1.1). On false nothing was taken or counted: the caller goes on
    /// with <see cref="TryPop"/>, which takes, and counts, whatever did not fit here (another range of
    /// the map, chains, mixed directions, bad descriptors, IOTLB misses).
    /// On true, <paramref name="segments"/>[i] and <paramref name="chains"/>[i] describe buffer i.
    /// </summary>
    public bool TryPopBatch(Span<VirtqSegment> segments, Span<VirtqChain> chains)
    {
        if (_memory.Flat is { } map)
        {
            var (guest, size, local) = map.Largest;
            return TryPopBatch(new LargestRange(guest, size, local), segments, chains);
        }
        return TryPopBatch(new ThroughInterface(_memory), segments, chains);
    }

    /// <summary>
    /// <see cref="TryPopBatch"/> through the flat memory map's largest range only, inline and with no call
    /// in it, for a caller's loop that must not have one (a call makes the JIT keep the loop's values on
    /// the stack). False, nothing taken, also when the memory is translated otherwise (an IOTLB): the
    /// caller goes on with <see cref="TryPop"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPopBatchFlat(Span<VirtqSegment> segments, Span<VirtqChain> chains)
    {
        if (_memory.Flat is not { } map) return false;
        var (guest, size, local) = map.Largest;
        return TryPopBatch(new LargestRange(guest, size, local), segments, chains);
    }

    /// <summary>How the batch translates an address; a struct, so each way is compiled on its own.</summary>
    interface IBatchTranslation
    {
        bool TryTranslate(ulong address, uint length, bool deviceWrites, out nint local);
    }

    /// <summary>
    /// The flat map's largest range, inline, with no call, its bounds in registers: the JIT keeps values
    /// live across a call on the stack, and spilled nearly every local of the loop below around the
    /// translation call it had; and it loaded the map's fields again for every descriptor.
    /// </summary>
    readonly struct LargestRange(ulong guest, ulong size, nint local) : IBatchTranslation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryTranslate(ulong address, uint length, bool deviceWrites, out nint translated)
        {
            translated = local + (nint)(address - guest);
            return GuestAddressMap.Holds(guest, size, address, length);
        }
    }

    /// <summary>Anything else (an IOTLB): a call per address.</summary>
    readonly struct ThroughInterface(DescriptorTranslation memory) : IBatchTranslation
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public bool TryTranslate(ulong address, uint length, bool deviceWrites, out nint local) => memory.TryTranslate(address, length, deviceWrites, out local);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    bool TryPopBatch<TTranslation>(TTranslation translation, Span<VirtqSegment> segments, Span<VirtqChain> chains)
        where TTranslation : struct, IBatchTranslation
    {
        int pos = _nextAvail;
        if ((pos & (BatchSize - 1)) != 0 || pos + BatchSize > _size || _size - _slotsInFlight < BatchSize) return false;
        if (segments.Length < BatchSize || chains.Length < BatchSize) return false; // no exceptions on the data path
        PackedDescriptor* d = _ring.Desc + pos;
        bool wrap = _availWrap;
        // §2.8.1: available in this lap = AVAIL equal to our wrap counter and USED not. One compare per
        // slot against the first slot's pattern: available, no NEXT or INDIRECT, and its WRITE bit.
        const int Shape = PackedDescriptor.FlagAvail | PackedDescriptor.FlagUsed | PackedDescriptor.FlagNext
            | PackedDescriptor.FlagIndirect | PackedDescriptor.FlagWrite;
        int f0 = Volatile.Read(ref d[0].Flags);
        int expect = (wrap ? PackedDescriptor.FlagAvail : PackedDescriptor.FlagUsed) | (f0 & PackedDescriptor.FlagWrite);
        if ((f0 & Shape) != expect
            || (Volatile.Read(ref d[1].Flags) & Shape) != expect
            || (Volatile.Read(ref d[2].Flags) & Shape) != expect
            || (Volatile.Read(ref d[3].Flags) & Shape) != expect)
            return false;
        // The line's direction as a mask: a device-writable buffer's length is its writable bytes.
        uint writableMask = (f0 & PackedDescriptor.FlagWrite) != 0 ? uint.MaxValue : 0;

        // Refs and bounds in locals: through the array and the spans, every store below (to memory the
        // JIT cannot tell apart from theirs) had their length and base loaded again.
        InFlightBuffer[] array = _buffers;
        ref InFlightBuffer buffers = ref MemoryMarshal.GetArrayDataReference(array);
        uint ids = (uint)array.Length;
        ref VirtqSegment seg = ref MemoryMarshal.GetReference(segments);
        ref VirtqChain chain = ref MemoryMarshal.GetReference(chains);
        ushort popPosition = PackedEventSuppression.OffWrapOf(pos, wrap);
        int taken = 0;
        for (; taken < BatchSize; taken++)
        {
            // Plain reads: the acquire reads of the flags above keep them after the flags.
            PackedDescriptor* di = d + taken;
            uint len = di->Len;
            ushort id = di->Id;
            if (len == 0 || id >= ids) goto Undo;
            ref InFlightBuffer b = ref Unsafe.Add(ref buffers, id);
            // In flight at once: a repeated id in the same line fails the check of its second slot.
            if (b.InFlight || !translation.TryTranslate(di->Addr, len, writableMask != 0, out nint local)) goto Undo;
            b = new InFlightBuffer(len & writableMask, 1, (ushort)(popPosition + taken));
            // Field by field into the caller's arrays: a struct built whole on the stack and copied
            // out is read back as one 16-byte load over four smaller stores, which cannot forward.
            ref VirtqSegment s = ref Unsafe.Add(ref seg, taken);
            s.Data = (byte*)local;
            s.Length = len;
            s.Writable = writableMask != 0;
            ref VirtqChain c = ref Unsafe.Add(ref chain, taken);
            c.Id = id;
            c.Segments = 1;
            c.ReadableBytes = len & ~writableMask;
            c.WritableBytes = len & writableMask;
        }

        _slotsInFlight += BatchSize;
        _nextAvail = pos + BatchSize;
        if (_nextAvail == _size) { _nextAvail = 0; _availWrap = !wrap; }
        return true;

    Undo:
        for (int i = 0; i < taken; i++) Unsafe.Add(ref buffers, Unsafe.Add(ref chain, i).Id) = default;
        return false;
    }
}
