using System.Threading;

namespace Datapath.Drivers.Virtio;

// Driver side of a packed virtqueue: where a restarted device resumes (vhost-user SET_VRING_BASE).
public sealed unsafe partial class PackedVirtqueueDriver
{
    // The polling position as one value another thread can read whole:
    // bits 0–14 _nextUsed, bit 15 _usedWrap, bits 16–31 _oldestId, bits 32–63 _batchSkip.
    long _usedCursor;

    void PublishUsedCursor()
        => Volatile.Write(ref _usedCursor, (long)((uint)_nextUsed | (_usedWrap ? 1u << 15 : 0) | (uint)_oldestId << 16 | (ulong)(uint)_batchSkip << 32));

    /// <summary>
    /// For a device that has stopped (crashed or GET_VRING_BASE'd): the slot and wrap counter where
    /// the next device must start taking available descriptors, as the vhost-user vring base
    /// (<see cref="PackedVringBase"/>). That is the first slot after everything the old device
    /// marked used (§2.8.22) — including used descriptors the polling lcore has not reached yet, so
    /// this may run on the control thread while that lcore polls: it walks from the published
    /// cursor using the chain lengths of the used ids (and, in order, of the batches they close,
    /// §2.8.8), and starts over if the lcore moved meanwhile.
    /// </summary>
    public uint ResumeBase()
    {
        for (int attempt = 0; ; attempt++)
        {
            long cursor = Volatile.Read(ref _usedCursor);
            int pos = (int)(cursor & 0x7FFF);
            bool wrap = (cursor & (1L << 15)) != 0;
            int oldest = (int)((cursor >> 16) & 0xFFFF);
            int pending = (int)(cursor >> 32);
            for (int walked = 0; walked < _size;)
            {
                PackedDescriptor* d = _ring.Desc + pos;
                if (!PackedDescriptor.IsUsed(Volatile.Read(ref d->Flags), wrap)) break;
                int skip = Math.Max(1, _inOrder ? BatchSlots(Volatile.Read(ref d->Id), ref oldest) + pending : ChainSlots(Volatile.Read(ref d->Id)));
                pending = 0;
                skip = Math.Min(skip, _size - walked);
                walked += skip;
                pos += skip;
                if (pos >= _size) { pos -= _size; wrap = !wrap; }
            }
            if (Volatile.Read(ref _usedCursor) == cursor || attempt > 1000)
                return PackedVringBase.Encode((ushort)pos, wrap);
        }
    }

    int ChainSlots(ushort id) => id < _size ? Volatile.Read(ref _buffers[id].Slots) : 1;

    /// <summary>In order: the slots of every buffer from <paramref name="oldest"/> up to <paramref name="id"/>; moves <paramref name="oldest"/> past it.</summary>
    int BatchSlots(ushort id, ref int oldest)
    {
        if (id >= _size) return 1;
        int slots = 0;
        for (int k = 0; k < _size; k++)
        {
            int h = oldest;
            slots += Volatile.Read(ref _buffers[h].Slots);
            oldest = h + 1 == _size ? 0 : h + 1;
            if (h == id) break;
        }
        return slots;
    }
}
