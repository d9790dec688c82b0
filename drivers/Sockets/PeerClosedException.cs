namespace Datapath.Drivers.Sockets;

/// <summary>The peer closed its end (or reset it): the connection is over, nothing is wrong with us.</summary>
public sealed class PeerClosedException(string message) : IOException(message);
