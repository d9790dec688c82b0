namespace Datapath.Drivers.Sockets;

/// <summary>
/// The peer stopped part way through a message, or stopped reading ours, for longer than the
/// socket's timeout (<see cref="UnixFdSocket.SetTimeouts"/>): the connection is given up.
/// </summary>
public sealed class PeerStalledException(string message) : IOException(message);
