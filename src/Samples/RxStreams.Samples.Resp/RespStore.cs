using System.Collections.Concurrent;
using System.Text;

namespace RxStreams.Samples.Resp;

/// <summary>
/// The key space and the commands: PING, ECHO, SET, GET, DEL, EXISTS, DBSIZE, FLUSHALL, plus what <c>redis-cli</c> and
/// <c>redis-benchmark</c> ask when they connect (CONFIG GET, COMMAND, HELLO, CLIENT, SELECT, INFO), answered the way a
/// RESP2-only Redis would.
/// </summary>
internal sealed class RespStore
{
    private readonly ConcurrentDictionary<string, byte[]> _values = new(StringComparer.Ordinal);

    /// <summary>Executes one command, writing its reply; returns false when the connection should close (QUIT).</summary>
    public bool Execute(RespCommand command, ConnectionWriter writer)
    {
        switch (command.Name)
        {
            case "":
                return true; // an empty line or *0: nothing to answer
            case "PING" when command.Count == 1:
                writer.WritePong();
                break;
            case "PING" when command.Count == 2:
            case "ECHO" when command.Count == 2:
                writer.WriteBulk(command.Arguments[1].Span);
                break;
            case "SET" when command.Count == 3:
                _values[command.Text(1)] = command.Arguments[2].ToArray();
                writer.WriteOk();
                break;
            case "SET" when command.Count > 3:
                writer.WriteError("ERR syntax error (this server supports SET key value only)");
                break;
            case "GET" when command.Count == 2:
                if (_values.TryGetValue(command.Text(1), out var value))
                {
                    writer.WriteBulk(value);
                }
                else
                {
                    writer.WriteNull();
                }

                break;
            case "DEL" when command.Count >= 2:
            case "EXISTS" when command.Count >= 2:
                writer.WriteInteger(CountKeys(command, remove: command.Name == "DEL"));
                break;
            case "DBSIZE" when command.Count == 1:
                writer.WriteInteger(_values.Count);
                break;
            case "FLUSHALL":
            case "FLUSHDB":
                _values.Clear();
                writer.WriteOk();
                break;
            case "CONFIG" when command.Count == 3 && command.Text(1).Equals("GET", StringComparison.OrdinalIgnoreCase):
                WriteConfig(command.Text(2), writer);
                break;
            case "COMMAND":
                writer.WriteEmptyArray(); // no command table: redis-cli then simply offers no hints
                break;
            case "HELLO":
                writer.WriteError("NOPROTO this server speaks RESP2 only"); // what Redis answers for an unsupported version
                break;
            case "CLIENT":
            case "SELECT" when command.Count == 2 && command.Text(1) == "0":
                writer.WriteOk();
                break;
            case "INFO":
                writer.WriteBulk("# Server\r\nredis_version:7.0.0\r\nrxstreams_sample:resp\r\n"u8);
                break;
            case "QUIT":
                writer.WriteOk();
                return false;
            case "PING" or "ECHO" or "SET" or "GET" or "DEL" or "EXISTS" or "DBSIZE" or "CONFIG" or "SELECT":
                writer.WriteError($"ERR wrong number of arguments for '{command.Name.ToLowerInvariant()}' command");
                break;
            default:
                writer.WriteError($"ERR unknown command '{Truncate(command.Text(0))}'");
                break;
        }

        return true;
    }

    private long CountKeys(RespCommand command, bool remove)
    {
        long count = 0;
        for (int i = 1; i < command.Count; i++)
        {
            if (remove ? _values.TryRemove(command.Text(i), out _) : _values.ContainsKey(command.Text(i)))
            {
                count++;
            }
        }

        return count;
    }

    private static void WriteConfig(string parameter, ConnectionWriter writer)
    {
        // redis-benchmark reads these two at start; any other parameter is unknown (an empty list, as Redis answers).
        string? value = parameter.ToUpperInvariant() switch
        {
            "SAVE" => "",
            "APPENDONLY" => "no",
            _ => null,
        };
        if (value is null)
        {
            writer.WriteEmptyArray();
            return;
        }

        writer.WriteArrayHeader(2);
        writer.WriteBulk(Encoding.ASCII.GetBytes(parameter.ToLowerInvariant()));
        writer.WriteBulk(Encoding.ASCII.GetBytes(value));
    }

    private static string Truncate(string text) => text.Length <= 64 ? text : text[..64] + "...";
}
