using System.Runtime.CompilerServices;

namespace Datapath.Drivers.Virtio;

// Driver side of a packed virtqueue: what we remember of each buffer id between its add and its use.
public sealed unsafe partial class PackedVirtqueueDriver
{
    /// <summary>
    /// One buffer id's state, 16 bytes, written whole by an add and read once by its reclaim: three
    /// arrays (slots, writable bytes, cookie) took three bounds checks and three lines per id.
    /// </summary>
    struct OutstandingBuffer
    {
        /// <summary>The caller's value for the buffer, handed back when the device has used it.</summary>
        public nint Cookie;
        /// <summary>The chain's device-writable bytes: the most a used length may claim (§2.8.4).</summary>
        public uint WritableBytes;
        /// <summary>Ring slots the chain uses (§2.8.6); 0 = not outstanding.</summary>
        public ushort Slots;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public OutstandingBuffer(nint cookie, uint writableBytes, int slots)
        {
            Cookie = cookie;
            WritableBytes = writableBytes;
            Slots = (ushort)slots;
        }
    }
}
