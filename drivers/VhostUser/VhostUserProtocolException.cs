namespace Datapath.Drivers.VhostUser;

/// <summary>The peer broke the protocol; the connection is closed, the port stays up.</summary>
public sealed class VhostUserProtocolException(string message) : Exception(message);
