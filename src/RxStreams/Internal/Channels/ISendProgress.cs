namespace RxStreams.Internal;

/// <summary>Told as bytes of a send reach the operating system (or the peer's pipe): the writer's buffer shrinks by them.</summary>
internal interface ISendProgress
{
    /// <summary><paramref name="count"/> more bytes left.</summary>
    void OnBytesSent(int count);
}
