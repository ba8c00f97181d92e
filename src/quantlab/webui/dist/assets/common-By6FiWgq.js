function x(t,n,e){return t.texts[n]?.[e==="en-US"?"en":"zh-CN"]||t[n]}function c(t,n){return t.human[n==="en-US"?"en":"zh-CN"]??""}export{x as l,c as p};
