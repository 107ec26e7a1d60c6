/*
 * `trace view`: one self-contained HTML page of a recorded session. Everything is inline (style,
 * script, data): it opens offline in any browser and fetches nothing. The timeline model is built
 * here (src/trace/timeline.ts, bounded whatever the trace's size); the page's script only draws it.
 * Text from the trace is set as text (textContent), never parsed as HTML.
 */
import type { Trace } from '../../trace/format.js';
import { buildTimeline, type Timeline } from '../../trace/timeline.js';

const STYLE = `
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#111;background:#fff}
h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px}
.meta{color:#555;margin-bottom:8px;word-break:break-all}
.counts span{display:inline-block;margin-right:14px;padding:2px 8px;background:#f3f4f6;border-radius:4px}
svg{display:block;max-width:100%;height:auto;border:1px solid #e5e7eb;background:#fff}
table{border-collapse:collapse}td,th{border:1px solid #e5e7eb;padding:2px 8px;text-align:left}
tr.error td{background:#fee2e2;color:#991b1b}.legend span{margin-right:12px}
.chains{display:flex;gap:40px}.note{color:#555}
`;

/** The page's script: draws the embedded timeline. Plain ES2017, no library. */
const SCRIPT = `
(function(){
var D=JSON.parse(document.getElementById('timeline-data').textContent);
var NS='http://www.w3.org/2000/svg';
function el(name,attrs,parent,text){var e=document.createElementNS(NS,name);for(var k in attrs)e.setAttribute(k,attrs[k]);if(text!==undefined)e.textContent=text;if(parent)parent.appendChild(e);return e;}
function h(name,parent,text,cls){var e=document.createElement(name);if(cls)e.className=cls;if(text!==undefined)e.textContent=text;if(parent)parent.appendChild(e);return e;}
function ms(s){return s===null||s===undefined?'–':(s*1000).toFixed(s<0.01?2:1)+' ms';}
function secs(t){return (t-D.start).toFixed(3)+' s';}
var W=1200,X0=170,X1=W-20,span=Math.max(D.end-D.start,1e-6);
function x(t){return X0+(t-D.start)/span*(X1-X0);}
var COLORS={created:'#d1d5db',running:'#60a5fa',paused:'#fbbf24',ready:'#34d399',standby:'#a7f3d0',waiting:'#c4b5fd',pending:'#a78bfa',aborting:'#f87171',concluded:'#9ca3af','null':'#e5e7eb'};
var counts=document.getElementById('counts');
[['messages',D.counts.messages],['commands',D.counts.commands],['events',D.counts.events],['errors',D.counts.errors],['jobs',D.jobs.length+(D.moreJobs?D.moreJobs.count:0)]].forEach(function(c){var s=h('span',counts,c[0]+': ');var b=h('b',s,String(c[1]));b.id='count-'+c[0];});
var rows=2+D.jobs.length,RH=34,H=40+rows*RH;
var svg=el('svg',{id:'timeline',viewBox:'0 0 '+W+' '+H,width:W,height:H,'data-t0':D.start,'data-t1':D.end},document.getElementById('timeline-box'));
var axis=el('line',{id:'axis',x1:X0,x2:X1,y1:24,y2:24,stroke:'#111'},svg);
for(var i=0;i<=10;i++){var tx=X0+i*(X1-X0)/10;el('line',{x1:tx,x2:tx,y1:20,y2:H,stroke:'#f3f4f6'},svg);el('text',{x:tx,y:14,'text-anchor':'middle','font-size':10},svg,(span*i/10).toFixed(span<1?3:1)+' s');}
function row(n,label,id){var g=el('g',{'class':'lane',id:id,transform:'translate(0,'+(32+n*RH)+')'},svg);el('text',{x:6,y:18,'font-size':11},g,label);el('rect',{x:X0,y:2,width:X1-X0,height:RH-6,fill:'#fafafa'},g);return g;}
var cg=row(0,'commands ('+D.counts.commands+')','lane-commands'),eg=row(1,'events ('+D.counts.events+')','lane-events');
if(D.commands){D.commands.forEach(function(c){var w=Math.max(1.5,(c.latency||0)/span*(X1-X0));var r=el('rect',{'class':'command'+(c.error?' error':''),x:x(c.t),y:6,width:w,height:RH-14,fill:c.error?'#dc2626':'#2563eb'},cg);el('title',{},r,c.name+' at '+secs(c.t)+', '+ms(c.latency)+(c.error?' — '+c.error:'')+' (line '+c.line+')');});
 D.events.forEach(function(e){var l=el('line',{'class':'event',x1:x(e.t),x2:x(e.t),y1:5,y2:RH-8,stroke:'#059669'},eg);el('title',{},l,e.name+(e.status?' '+e.status:'')+(e.job?' ('+e.job+')':'')+' at '+secs(e.t));});}
else{var bw=(X1-X0)/D.buckets.length,maxC=1,maxE=1;D.buckets.forEach(function(b){maxC=Math.max(maxC,b.commands);maxE=Math.max(maxE,b.events);});
 D.buckets.forEach(function(b,i){if(b.commands){var hgt=(RH-8)*b.commands/maxC;var r=el('rect',{'class':'bucket',x:X0+i*bw,y:RH-4-hgt,width:Math.max(bw,1),height:hgt,fill:b.errors?'#dc2626':'#2563eb'},cg);el('title',{},r,b.commands+' commands'+(b.errors?', '+b.errors+' errors':'')+', slowest '+ms(b.maxLatency));}
  if(b.events){var he=(RH-8)*b.events/maxE;el('rect',{'class':'bucket',x:X0+i*bw,y:RH-4-he,width:Math.max(bw,1),height:he,fill:'#059669'},eg);}});
 h('p',document.getElementById('timeline-note'),'Too many to draw one by one: commands and events are counted per '+(span/D.buckets.length*1000).toFixed(1)+' ms (bar height); red where a command failed.','note');}
D.jobs.forEach(function(j,n){var g=row(2+n,'job '+j.id+(j.type?' ('+j.type+')':''),'lane-job-'+n);g.setAttribute('data-job',j.id);
 j.changes.forEach(function(c,k){var next=k+1<j.changes.length?j.changes[k+1].t:(j.ended!==undefined?Math.max(j.ended,c.t):D.end);var r=el('rect',{'class':'status',x:x(c.t),y:6,width:Math.max(1,x(next)-x(c.t)),height:RH-14,fill:COLORS[c.status]||'#9ca3af','data-status':c.status},g);el('title',{},r,c.status+' at '+secs(c.t));});
 if(j.ready!==undefined){el('line',{'class':'ready-marker','data-job':j.id,'data-t':j.ready,x1:x(j.ready),x2:x(j.ready),y1:0,y2:RH-4,stroke:'#047857','stroke-width':2},g);var nearEnd=x(j.ready)>X1-60;el('text',{x:nearEnd?x(j.ready)-3:x(j.ready)+3,'text-anchor':nearEnd?'end':'start',y:RH+2,'font-size':9,fill:'#047857'},g,'READY');}
 if(j.ready!==undefined&&j.completeSent!==undefined){el('line',{'class':'complete-marker',x1:x(j.completeSent),x2:x(j.completeSent),y1:0,y2:RH-4,stroke:'#7c3aed','stroke-width':2},g);
  var end=j.ended!==undefined?j.ended:j.completeSent,right=x(end)>X1-300;el('text',{'class':'ready-latency',x:right?x(j.ready)-4:x(end)+4,'text-anchor':right?'end':'start',y:14,'font-size':10,fill:'#7c3aed'},g,'READY → complete sent '+ms(j.completeSent-j.ready)+(j.ended!==undefined?', → ended '+ms(j.ended-j.ready):''));}});
if(D.moreJobs){var o=D.moreJobs.outcomes;h('p',document.getElementById('timeline-note'),D.moreJobs.count+' more jobs not drawn one by one: '+Object.keys(o).map(function(k){return o[k]+' '+k;}).join(', ')+'.','note');}
var legend=document.getElementById('legend');Object.keys(COLORS).forEach(function(k){var s=h('span',legend,'■ '+k);s.style.color=COLORS[k];});
var pbox=document.getElementById('progress');
D.jobs.forEach(function(j){if(!j.progress.length)return;var PH=160,ps=el('svg',{'class':'progress',viewBox:'0 0 '+W+' '+(PH+30),width:W,height:PH+30,'data-job':j.id},pbox);
 el('text',{x:X0+8,y:24,'font-size':11},ps,'job '+j.id+': offset / len');el('line',{x1:X0,x2:X1,y1:PH,y2:PH,stroke:'#111'},ps);el('line',{x1:X0,x2:X0,y1:10,y2:PH,stroke:'#111'},ps);
 el('text',{x:X0-6,y:14,'font-size':10,'text-anchor':'end'},ps,'100 %');el('text',{x:X0-6,y:PH,'font-size':10,'text-anchor':'end'},ps,'0 %');
 var pts=j.progress.map(function(p){var f=p.len>0?p.offset/p.len:0;return x(p.t).toFixed(1)+','+(PH-f*(PH-12)).toFixed(1);}).join(' ');
 el('polyline',{points:pts,fill:'none',stroke:'#2563eb','stroke-width':1.5},ps);
 j.speeds.forEach(function(s){el('line',{'class':'speed-change',x1:x(s.t),x2:x(s.t),y1:10,y2:PH,stroke:'#f59e0b','stroke-dasharray':'4 3'},ps);el('text',{x:x(s.t)+3,y:PH+14,'font-size':10,fill:'#b45309'},ps,s.speed?'speed '+(s.speed/1048576).toFixed(1)+' MiB/s':'no limit');});
 if(D.guestWrites.length){var gw=D.guestWrites,mx=1,mn=gw[0].bytes;gw.forEach(function(p){mx=Math.max(mx,p.bytes);mn=Math.min(mn,p.bytes);});
  el('polyline',{'class':'guest-writes',points:gw.map(function(p){return x(p.t).toFixed(1)+','+(PH-(p.bytes-mn)/Math.max(mx-mn,1)*(PH-12)).toFixed(1);}).join(' '),fill:'none',stroke:'#db2777','stroke-width':1,'stroke-dasharray':'2 2'},ps);
  el('text',{x:X1-260,y:16,'font-size':10,fill:'#db2777'},ps,'guest writes (convergence guard samples)');}
 D.throttles.forEach(function(s){el('text',{x:x(s.t)+3,y:PH+26,'font-size':10,fill:'#db2777'},ps,'throttle '+s.device+' '+(s.bpsWrite?(s.bpsWrite/1048576).toFixed(1)+' MiB/s':'off'));});});
if(!pbox.firstChild)h('p',pbox,'No offset/len in this trace (no query-block-jobs reply, no event with progress).','note');
function chains(id,list){var box=document.getElementById(id);if(!list.length){h('p',box,'no query-block in the trace','note');return;}list.forEach(function(c){h('b',box,c.device);var ol=h('ol',box);c.images.forEach(function(f){h('li',ol,f);});});}
chains('chain-before',D.chainBefore);chains('chain-after',D.chainAfter);
var et=document.getElementById('errors');if(!D.errors.length)h('p',et,'No command failed.','note');else{var t=h('table',et);D.errors.forEach(function(e){var tr=h('tr',t,undefined,'error');h('td',tr,secs(e.t));h('td',tr,e.name);h('td',tr,e.error);h('td',tr,'line '+e.line);});if(D.counts.errors>D.errors.length)h('p',et,(D.counts.errors-D.errors.length)+' more not listed','note');}
var st=h('table',document.getElementById('stats')),hr=h('tr',st);['command','count','errors','median latency','max latency'].forEach(function(c){h('th',hr,c);});
D.commandStats.forEach(function(c){var tr=h('tr',st,undefined,c.errors?'error':'');h('td',tr,c.name);h('td',tr,String(c.count));h('td',tr,String(c.errors));h('td',tr,ms(c.medianLatency));h('td',tr,ms(c.maxLatency));});
var ev=h('table',document.getElementById('event-counts'));Object.keys(D.eventCounts).sort().forEach(function(k){var tr=h('tr',ev);h('td',tr,k);h('td',tr,String(D.eventCounts[k]));});
document.body.setAttribute('data-rendered','1');
})();
`;

/** Embeds JSON in a <script> element: nothing in it can close the element. */
function embed(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

const escapeHtml = (text: string): string => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export function renderTimelinePage(timeline: Timeline): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>${escapeHtml(`QMP session ${timeline.source}`)}</title><style>${STYLE}</style></head>
<body>
<h1>QMP session: ${escapeHtml(timeline.source)}</h1>
<div class="meta">${escapeHtml([timeline.qemu ? `QEMU ${timeline.qemu}` : '', timeline.command ?? ''].filter(Boolean).join(' — '))}</div>
<div class="counts" id="counts"></div>
<h2>Timeline</h2><div class="legend" id="legend"></div><div id="timeline-box"></div><div id="timeline-note"></div>
<h2>Progress</h2><div id="progress"></div>
<h2>Chain</h2><div class="chains"><div><h3>first query-block</h3><div id="chain-before"></div></div><div><h3>last query-block</h3><div id="chain-after"></div></div></div>
<h2>Errors and refusals</h2><div id="errors"></div>
<h2>Commands</h2><div id="stats"></div>
<h2>Events</h2><div id="event-counts"></div>
<script type="application/json" id="timeline-data">${embed(timeline)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}

export function renderTraceView(trace: Trace, source: string): string {
  return renderTimelinePage(buildTimeline(trace, source));
}
