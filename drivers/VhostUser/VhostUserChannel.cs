using System.Runtime.InteropServices;
using Datapath.Drivers.Sockets;

namespace Datapath.Drivers.VhostUser;

/// <summary>
/// The vhost-user message codec over a UNIX socket, shared by the back-end (net_vhost) and the
/// front-end (net_virtio_user): read a header with its descriptors, check it, read the payload;
/// write requests and replies. Sizes from the peer are checked before anything is read into memory.
/// </summary>
public sealed class VhostUserChannel : IDisposable
{
    readonly UnixFdSocket _socket;
    readonly byte[] _header = new byte[VhostUserHeader.Size];

    public VhostUserChannel(UnixFdSocket socket) => _socket = socket;

    public UnixFdSocket Socket => _socket;

    /// <summary>
    /// Reads the next message into <paramref name="message"/> (its old descriptors are closed first).
    /// Throws <see cref="VhostUserProtocolException"/> on a malformed message (the descriptors that came
    /// with it are closed) and <see cref="PeerClosedException"/> when the peer hangs up.
    /// </summary>
    public void Receive(VhostUserMessage message)
    {
        message.CloseFds();
        _socket.ReceiveExact(_header, message.Fds, out message.FdCount, out bool fdsDropped);
        message.Header = MemoryMarshal.Read<VhostUserHeader>(_header);
        try
        {
            if (fdsDropped)
                throw new VhostUserProtocolException($"peer sent {(VhostUserRequest)message.Header.Request} with more than {UnixFdSocket.MaxFds} fds");
            if ((message.Header.Flags & VhostUserHeader.VersionMask) != VhostUserHeader.Version)
                throw new VhostUserProtocolException($"peer sent {(VhostUserRequest)message.Header.Request} with version {message.Header.Flags & VhostUserHeader.VersionMask} (expected 1)");
            if (message.Header.PayloadSize > VhostUserLimits.MaxPayload)
                throw new VhostUserProtocolException($"peer sent {(VhostUserRequest)message.Header.Request} with a {message.Header.PayloadSize}-byte payload (max {VhostUserLimits.MaxPayload})");
            if (message.Header.PayloadSize > 0)
            {
                // Descriptors belong on the header's byte; any riding on the payload are taken too, so they are closed with the message.
                int more;
                bool dropped;
                try
                {
                    _socket.ReceiveExact(message.Payload.AsSpan(0, (int)message.Header.PayloadSize), message.Fds.AsSpan(message.FdCount), out more, out dropped);
                }
                catch (PeerClosedException)
                {
                    throw new PeerClosedException($"peer closed the connection mid-message ({message.Request}, {message.PayloadSize}-byte payload)");
                }
                message.FdCount += more;
                if (dropped) throw new VhostUserProtocolException($"peer sent {message.Request} with more than {UnixFdSocket.MaxFds} fds");
            }
        }
        catch
        {
            message.CloseFds();
            throw;
        }
    }

    /// <summary>Sends one message: header, payload, and descriptors on its first byte.</summary>
    public void Send(uint request, uint flags, ReadOnlySpan<byte> payload, ReadOnlySpan<int> fds = default)
    {
        if (payload.Length > VhostUserLimits.MaxPayload) throw new ArgumentException($"payload of {payload.Length} bytes exceeds {VhostUserLimits.MaxPayload}");
        Span<byte> buf = stackalloc byte[VhostUserHeader.Size + VhostUserLimits.MaxPayload];
        var h = new VhostUserHeader { Request = request, Flags = VhostUserHeader.Version | flags, PayloadSize = (uint)payload.Length };
        MemoryMarshal.Write(buf, in h);
        payload.CopyTo(buf[VhostUserHeader.Size..]);
        _socket.Send(buf[..(VhostUserHeader.Size + payload.Length)], fds);
    }

    public void Send<T>(VhostUserRequest request, in T payload, bool needReply = false, ReadOnlySpan<int> fds = default) where T : unmanaged =>
        Send((uint)request, needReply ? VhostUserHeader.NeedReplyFlag : 0, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in payload)), fds);

    public void SendEmpty(VhostUserRequest request, bool needReply = false) =>
        Send((uint)request, needReply ? VhostUserHeader.NeedReplyFlag : 0, ReadOnlySpan<byte>.Empty);

    /// <summary>Replies to <paramref name="request"/> with a payload (flags: version 1, reply).</summary>
    public void Reply<T>(VhostUserMessage request, in T payload) where T : unmanaged =>
        Send(request.Header.Request, VhostUserHeader.ReplyFlag, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in payload)));

    public void ReplyBytes(VhostUserMessage request, ReadOnlySpan<byte> payload) =>
        Send(request.Header.Request, VhostUserHeader.ReplyFlag, payload);

    public void Dispose() => _socket.Dispose();
}
