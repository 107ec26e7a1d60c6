// virsh's --diskspec escapes a comma inside a value as ",,": a file name with a comma survives,
// and a single comma still separates the keys.
import t from 'tap';
import { parseDiskspec } from '../../src/cli/commands/snapshot.js';

t.same(parseDiskspec('vda,snapshot=external,file=/images/a,,b.qcow2,driver=qcow2'), { disk: 'vda', file: '/images/a,b.qcow2' }, 'a,,b is the file a,b');
t.same(parseDiskspec('vda,file=/images/x,,,,y.qcow2'), { disk: 'vda', file: '/images/x,,y.qcow2' }, 'two escaped commas in a row');
t.same(parseDiskspec('vda,file=/images/plain.qcow2,node-name=n1'), { disk: 'vda', file: '/images/plain.qcow2', nodeName: 'n1' }, 'no comma: as before');
t.throws(() => parseDiskspec('vda,file=/images/a,b.qcow2'), /unknown --diskspec key 'b.qcow2'/, 'a single comma still separates');
