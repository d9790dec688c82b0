using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Datapath.Hugepages.Native;

namespace Datapath.Drivers.VhostUser;

/// <summary>
/// One vhost-user message: header, payload (at most <see cref="VhostUserLimits.MaxPayload"/> bytes)
/// and the descriptors that came with it. Descriptors belong to the message until taken with
/// <see cref="TakeFd"/>; <see cref="CloseFds"/> closes whatever was not taken, so none leak.
/// Reused across messages: one per connection.
/// </summary>
public sealed class VhostUserMessage
{
    public VhostUserHeader Header;
    public readonly byte[] Payload = new byte[VhostUserLimits.MaxPayload];
    public readonly int[] Fds = new int[Sockets.UnixFdSocket.MaxFds];
    public int FdCount;

    public VhostUserRequest Request => (VhostUserRequest)Header.Request;
    public int PayloadSize => (int)Header.PayloadSize;
    public ReadOnlySpan<byte> Body => Payload.AsSpan(0, PayloadSize);

    /// <summary>Reads the payload as <typeparamref name="T"/>; the peer must have sent at least that many bytes.</summary>
    public T Read<T>(int offset = 0) where T : unmanaged
    {
        int size = Unsafe.SizeOf<T>();
        if (offset < 0 || PayloadSize < offset + size)
            throw new VhostUserProtocolException($"{Request}: payload of {PayloadSize} bytes, {offset + size} expected");
        return MemoryMarshal.Read<T>(Payload.AsSpan(offset, size));
    }

    public ulong ReadU64() => Read<ulong>();

    /// <summary>Hands descriptor <paramref name="index"/> to the caller, who now must close it.</summary>
    public int TakeFd(int index)
    {
        if ((uint)index >= (uint)FdCount || Fds[index] < 0)
            throw new VhostUserProtocolException($"{Request}: fd {index} expected, {FdCount} received");
        int fd = Fds[index];
        Fds[index] = -1;
        return fd;
    }

    public void CloseFds()
    {
        for (int i = 0; i < FdCount; i++)
            if (Fds[i] >= 0) { Libc.Close(Fds[i]); Fds[i] = -1; }
        FdCount = 0;
    }

    public override string ToString() => $"{Request} (size {PayloadSize}, {FdCount} fds, flags 0x{Header.Flags:x})";
}
