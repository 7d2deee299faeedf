using System.Globalization;
using System.Text;

namespace RxStreams.Samples.Resp;

/// <summary>RESP2 replies, written straight into the connection's writer (which batches them per received chunk).</summary>
internal static class RespReply
{
    private static readonly byte[] Ok = "+OK\r\n"u8.ToArray();
    private static readonly byte[] Pong = "+PONG\r\n"u8.ToArray();
    private static readonly byte[] NullBulk = "$-1\r\n"u8.ToArray();
    private static readonly byte[] EmptyArray = "*0\r\n"u8.ToArray();

    public static void WriteOk(this ConnectionWriter writer) => writer.Write(Ok);

    public static void WritePong(this ConnectionWriter writer) => writer.Write(Pong);

    public static void WriteNull(this ConnectionWriter writer) => writer.Write(NullBulk);

    public static void WriteEmptyArray(this ConnectionWriter writer) => writer.Write(EmptyArray);

    public static void WriteError(this ConnectionWriter writer, string message) =>
        writer.Write(Encoding.UTF8.GetBytes("-" + message.Replace('\r', ' ').Replace('\n', ' ') + "\r\n"));

    public static void WriteInteger(this ConnectionWriter writer, long value) =>
        writer.Write(Encoding.ASCII.GetBytes(":" + value.ToString(CultureInfo.InvariantCulture) + "\r\n"));

    public static void WriteBulk(this ConnectionWriter writer, ReadOnlySpan<byte> value)
    {
        writer.Write(Encoding.ASCII.GetBytes("$" + value.Length.ToString(CultureInfo.InvariantCulture) + "\r\n"));
        writer.Write(value);
        writer.Write("\r\n"u8);
    }

    public static void WriteArrayHeader(this ConnectionWriter writer, int count) =>
        writer.Write(Encoding.ASCII.GetBytes("*" + count.ToString(CultureInfo.InvariantCulture) + "\r\n"));
}
